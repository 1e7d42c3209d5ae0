"""Reply models: what every handler returns, facts and enums only.

The shape is DESIGN.md's "Reply JSON"; the renderers in `bot/` (Block Kit, terminal text and
the JSON a console prints, which adds their `message`) own every word a person reads. Times are
RFC 3339 UTC strings.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.audit.report import AuditReport
from workflows.errors import ErrorCode
from workflows.gates.checklist import ChecklistLine
from workflows.gates.metrics_snapshot import MetricsHistory, MetricsSnapshot
from workflows.rollout.happenings import Happening


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorView(_Reply):
    """Why a command did not do what was asked (the message is a CommandError's, verbatim)."""

    code: ErrorCode
    message: str
    usage: str | None = None
    blockers: list[ChecklistLine] | None = None


class ApprovalView(_Reply):
    """One approval of the pending request."""

    by: str
    at: str


class ChangeSummary(_Reply):
    """What the current phase will change, as facts (the renderer words them)."""

    kind: str
    mode: str | None = None
    dry_run: bool = False
    deny_by_default: bool = False


class RequestView(_Reply):
    """The pending approval request."""

    id: str
    requested_by: str
    requested_at: str
    expires_at: str
    required: int
    change: ChangeSummary | None = None
    diff: str | None = None
    metrics: MetricsSnapshot | None = None
    manifest: str | None = None  # read-only or GitOps: the change as YAML to commit
    approvers: list[str] = []  # who may approve: Slack user ids, then user-group ids


class DecisionView(_Reply):
    """How the last approval request ended."""

    phase: str
    outcome: str
    by: str
    at: str
    reason: str = ""


class RolloutView(_Reply):
    """A rollout as people see it."""

    service: str
    phase: str
    phase_index: int
    phase_title: str
    phases: int
    state: str
    version: int
    checklist: list[ChecklistLine]
    approvals: list[ApprovalView]
    request: RequestView | None = None
    last_decision: DecisionView | None = None
    started_by: str
    started_at: str
    updated_at: str


class ClusterAction(StrEnum):
    """What meshgate did to the cluster for a transition."""

    APPLIED = "applied"  # the phase's change was applied (server-side apply)
    REVERTED = "reverted"  # a rolled-back phase's change was undone
    NOT_APPLIED = "not_applied"  # read-only cluster (manifests, demo): nothing was written
    NOT_REVERTED = "not_reverted"  # read-only cluster: nothing was undone


class ClusterChange(_Reply):
    """One change carried out (or not) after a transition, with the objects it touched."""

    action: ClusterAction
    phase: str
    kind: str
    objects: list[str] = []


class RolloutSummary(_Reply):
    """One line of `list`."""

    service: str
    phase: str
    phase_index: int
    state: str
    pending_approvals: int
    updated_at: str


class HistoryLine(_Reply):
    """One entry of `history`."""

    at: str
    actor: str
    action: str
    outcome: str
    phase: str = ""
    state: str = ""
    detail: str = ""
    happened: list[Happening] | None = None


class PhaseChangeMark(_Reply):
    """A phase the rollout completed, to mark on a metrics chart."""

    phase: str
    at: str


class MetricsView(_Reply):
    """A service's metrics now (the Metrics JSON) and over the last hours (for a chart)."""

    snapshot: MetricsSnapshot
    history: MetricsHistory | None = None
    marks: list[PhaseChangeMark] = []


class PlanView(_Reply):
    """`plan`: the change of a phase as YAML to commit (empty when the phase has none)."""

    phase: str
    change: ChangeSummary | None = None
    objects: list[str] = []
    manifest: str = ""


class HelpLine(_Reply):
    """One verb of `help`."""

    usage: str
    summary: str


class AlertView(_Reply):
    """One alert as people see it (the `ack` and `snooze` replies, App Home, the CLI)."""

    id: str
    cause: str
    kinds: list[str]
    services: list[str]
    status: str
    opened_at: str
    resolved_at: str | None = None
    lasted_s: int | None = None  # how long a resolved alert was open, in seconds
    detail: str | None = None
    acked_by: str | None = None
    acked_at: str | None = None
    snoozed_by: str | None = None
    snoozed_until: str | None = None
    escalated_at: str | None = None


class Reply(_Reply):
    """The answer to one command."""

    command: str
    ok: bool
    error: ErrorView | None = None
    rollout: RolloutView | None = None
    happened: list[Happening] | None = None
    changes: list[ClusterChange] | None = None
    warnings: list[str] | None = None
    rollouts: list[RolloutSummary] | None = None
    history: list[HistoryLine] | None = None
    help: list[HelpLine] | None = None
    audit: AuditReport | None = None
    metrics: MetricsView | None = None
    alert: AlertView | None = None
    plan: PlanView | None = None

    @property
    def moved(self) -> bool:
        """True when the command changed the rollout (its message and thread follow)."""
        return bool(self.happened)
