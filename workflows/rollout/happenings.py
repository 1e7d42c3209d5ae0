"""What a transition did (happenings, kept in the trail) and what must follow it (intents).

Happenings are facts, not sentences: the renderers in `bot/` put them into words. Intents are
the side effects the caller carries out after the state is stored; a failure of one comes back
as an event (`ApplyFailed`) through the same `decide`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.playbook import PhaseChange
from workflows.rollout.state import Rollout


class HappeningKind(StrEnum):
    """What a transition did."""

    STARTED = "started"  # a rollout began at the first phase
    ADVANCE_REQUESTED = "advance_requested"  # approvals are now being collected
    APPROVAL_RECORDED = "approval_recorded"  # one vote counted, more needed
    VERIFYING = "verifying"  # approvals done; `change` (if any) is applied now, then verified
    PHASE_COMPLETED = "phase_completed"  # the phase is done (verified, when it had to be)
    ROLLOUT_COMPLETED = "rollout_completed"  # the last phase completed
    REQUEST_REJECTED = "request_rejected"  # back to in_progress, nothing applied
    REQUEST_EXPIRED = "request_expired"  # nobody decided in time
    REQUEST_WITHDRAWN = "request_withdrawn"  # a rollback or abort superseded it
    ATTESTED = "attested"  # a human item was vouched for
    ROLLED_BACK = "rolled_back"  # `change` (if any) is reverted now
    CHANGE_FAILED = "change_failed"  # the cluster refused the change; nothing was applied
    VERIFICATION_FAILED = "verification_failed"  # `items` still failed at the deadline
    ABORTED = "aborted"  # the rollout stopped


class Happening(BaseModel):
    """One thing a transition did, with the facts a renderer needs to say it."""

    model_config = ConfigDict(frozen=True)

    kind: HappeningKind
    phase: str
    by: str = ""  # who caused it (meshgate for expiry and failed changes)
    approvers: tuple[str, ...] = ()  # PHASE_COMPLETED after approvals: who approved
    count: int = 0  # APPROVAL_RECORDED: votes so far
    required: int = 0  # approvals needed
    deadline: datetime | None = None  # ADVANCE_REQUESTED / REQUEST_EXPIRED / VERIFYING
    reason: str = ""  # a person's reason or note, or why a change failed
    item: str = ""  # ATTESTED: the checklist item
    from_phase: str = ""  # ROLLED_BACK: where the rollout was
    next_phase: str = ""  # PHASE_COMPLETED: where it is now ("" after the last phase)
    withdrawn_by: str = ""  # REQUEST_WITHDRAWN: the verb that withdrew it (rollback, abort)
    items: tuple[str, ...] = ()  # VERIFICATION_FAILED: the verify items that did not pass
    held: bool = False  # VERIFICATION_FAILED: on_failure `hold` (nothing undone; a person decides)
    change: PhaseChange | None = None


@dataclass(frozen=True)
class DryRun:
    """Before storing: the request should show the server-side dry run of `change`."""

    phase: str
    change: PhaseChange


@dataclass(frozen=True)
class ApplyChange:
    """After storing: apply `change` for the phase that just completed."""

    phase: str
    change: PhaseChange


@dataclass(frozen=True)
class RevertChange:
    """After storing: revert what `phase`'s change replaced."""

    phase: str
    change: PhaseChange


Intent = DryRun | ApplyChange | RevertChange


@dataclass(frozen=True)
class Transition:
    """The new state, what happened on the way, and what the caller must carry out."""

    rollout: Rollout
    happened: tuple[Happening, ...] = ()
    intents: tuple[Intent, ...] = field(default_factory=tuple)

    def after(self, rollout: Rollout) -> Transition:
        """The same happenings and intents on an updated rollout."""
        return Transition(rollout, self.happened, self.intents)
