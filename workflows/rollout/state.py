"""The state of one service's rollout: the document the store keeps, and who may approve.

States::

    start ──> in_progress ──advance (gate passes)──> awaiting_approval ──approve × N──┐
                 ^    │  └──(0 approvals needed)──────────────────────────────────────┤
                 │    │                   reject / expiry ──> in_progress            v
                 │    │          a phase with a change or `verify:` items: verifying ─┤
                 │    │            (verify passes ──> next phase; fails by the        │
                 │    │             deadline ──> rolled_back, or held)                v
                 │    └──abort──> aborted ──start──> resumes   next phase: in_progress, or completed
                 └── rollback, or a change that failed to apply ──> rolled_back ──advance──> ...
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.gates.checklist import AttestationNote, ChecklistLine
from workflows.gates.metrics_snapshot import MetricsSnapshot
from workflows.playbook import ApprovalPolicy, PhaseChange


class RolloutState(StrEnum):
    """Where a rollout stands (DESIGN.md, reply JSON `state`)."""

    IN_PROGRESS = "in_progress"  # working on the current phase's gate
    AWAITING_APPROVAL = "awaiting_approval"  # gate passed; approvals being collected
    VERIFYING = "verifying"  # the change is applied (or awaited); its verify items are checked
    COMPLETED = "completed"  # every phase done
    ROLLED_BACK = "rolled_back"  # the last phase's change was reverted; back at that phase
    ABORTED = "aborted"  # stopped by a person; start again to resume


class RequestOutcome(StrEnum):
    """How an approval request ended."""

    APPROVED = "approved"  # enough approvals; the phase completed
    REJECTED = "rejected"  # an approver rejected it, or the requester withdrew it
    EXPIRED = "expired"  # nobody decided before the playbook's expiry
    WITHDRAWN = "withdrawn"  # superseded by a rollback or an abort


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Approval(_Frozen):
    """One approver's vote."""

    by: str
    at: datetime


class ApprovalRequest(_Frozen):
    """A pending request to complete a phase, with the checklist it was made on."""

    id: str
    phase: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    required: int
    approvals: tuple[Approval, ...] = ()
    checklist: tuple[ChecklistLine, ...] = ()
    preview: str = ""  # diff of the objects the change will apply, from a server-side dry run
    metrics: MetricsSnapshot | None = None  # the service's numbers when the request was made
    manifest: str = ""  # where meshgate does not write: the change as YAML for the team to commit
    approvers: tuple[str, ...] = ()  # who may approve: Slack user ids, then user-group ids


class Decision(_Frozen):
    """How the most recent approval request ended, so a late click can be told."""

    request_id: str
    phase: str
    outcome: RequestOutcome
    by: str
    at: datetime
    reason: str = ""
    version: int = 0  # the rollout version this decision created (0: written before it was kept)


class Verifying(_Frozen):
    """A phase whose change is applied (or awaited) and whose verify items must pass."""

    phase: str
    since: datetime
    deadline: datetime
    held: bool = False  # failed at the deadline with on_failure `hold`: a person decides


class CompletedPhase(_Frozen):
    """A phase done, with the change it applied (what rollback reverts)."""

    phase: str
    at: datetime
    change: PhaseChange | None = None


class Rollout(_Frozen):
    """The whole state of one service's rollout: one JSON document in the store."""

    service: str
    playbook: str
    phase_index: int
    phase: str
    state: RolloutState
    started_by: str
    started_at: datetime
    updated_at: datetime
    attestations: tuple[AttestationNote, ...] = ()
    request: ApprovalRequest | None = None
    last_decision: Decision | None = None
    completed: tuple[CompletedPhase, ...] = ()
    verifying: Verifying | None = None
    version: int = 0

    @property
    def finished(self) -> bool:
        """True when no gate is being worked on (completed or aborted)."""
        return self.state in (RolloutState.COMPLETED, RolloutState.ABORTED)


@dataclass(frozen=True)
class Approvers:
    """Who may approve: Slack user ids and user-group ids."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, ids: Collection[str]) -> Approvers:
        """Split Slack ids into users and user groups (group ids start with `S`)."""
        clean = [i.strip() for i in ids if i.strip()]
        groups = frozenset(
            i for i in clean if i.startswith("S") and i[1:].isalnum() and i.isupper()
        )
        return cls(users=frozenset(clean) - groups, groups=groups)

    @property
    def nobody(self) -> bool:
        """True when no user and no group may approve."""
        return not self.users and not self.groups

    def admit(self, actor: str, groups: frozenset[str]) -> bool:
        """True when `actor` (a member of `groups`) is one of these approvers."""
        return actor in self.users or bool(groups & self.groups)


def approvers_for(policy: ApprovalPolicy, *, default: Approvers) -> Approvers:
    """Who may approve under `policy`: its own lists, or the default when it names nobody."""
    if policy.users or policy.groups:
        return Approvers(users=frozenset(policy.users), groups=frozenset(policy.groups))
    return default
