"""Reply models: what every handler returns, and what `--format json` prints.

The shape is DESIGN.md's "Reply JSON"; renderers (Block Kit, terminal text) are functions of
these models. Times are RFC 3339 UTC strings.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from commands.errors import ErrorCode
from workflows.audit.report import AuditReport
from workflows.gates.checklist import ChecklistLine


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorView(_Reply):
    """Why a command did not do what was asked."""

    code: ErrorCode
    message: str
    usage: str | None = None
    blockers: list[ChecklistLine] | None = None


class ApprovalView(_Reply):
    """One approval of the pending request."""

    by: str
    at: str


class RequestView(_Reply):
    """The pending approval request."""

    id: str
    requested_by: str
    requested_at: str
    expires_at: str
    required: int
    change: str | None = None
    diff: str | None = None


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
    checklist: list[ChecklistLine]
    approvals: list[ApprovalView]
    request: RequestView | None = None
    last_decision: DecisionView | None = None
    started_by: str
    started_at: str
    updated_at: str


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


class HelpLine(_Reply):
    """One verb of `help`."""

    usage: str
    summary: str


class Reply(_Reply):
    """The answer to one command."""

    command: str
    ok: bool
    error: ErrorView | None = None
    message: str | None = None
    rollout: RolloutView | None = None
    rollouts: list[RolloutSummary] | None = None
    history: list[HistoryLine] | None = None
    help: list[HelpLine] | None = None
    audit: AuditReport | None = None

    def to_json(self) -> str:
        """One line of JSON, leaving out what this reply does not carry."""
        return self.model_dump_json(exclude_none=True, by_alias=True)
