"""Going back: rollback to the last completed phase, abort, and a change that failed to apply.

Pure helpers of workflows.rollout.machine. A rollback reverts the phase's change (a
RevertChange intent); a failed apply reverts nothing (the writer applies all or nothing) and
moves the rollout back to the phase whose change failed, so it never reads completed without it.
"""

from __future__ import annotations

from datetime import datetime

from workflows.errors import ErrorCode
from workflows.playbook import Playbook
from workflows.rollout import guards
from workflows.rollout.events import Abort, Actor, ApplyFailed, Refused
from workflows.rollout.happenings import (
    Happening,
    HappeningKind,
    Intent,
    RevertChange,
    Transition,
)
from workflows.rollout.state import (
    Approvers,
    Decision,
    RequestOutcome,
    Rollout,
    RolloutState,
    approvers_for,
)


def rollback(
    rollout: Rollout, *, actor: Actor, playbook: Playbook, now: datetime, default: Approvers
) -> Transition:
    """Back to the last completed phase; one of its approvers must, if its change needed any."""
    if rollout.state is RolloutState.ABORTED:
        raise Refused(ErrorCode.CONFLICT, f"{rollout.service} was aborted; `start` it again")
    if not rollout.completed:
        raise Refused(
            ErrorCode.CONFLICT,
            f"nothing to roll back: {rollout.service} has not completed a phase yet",
        )
    last = rollout.completed[-1]
    index = playbook.index_of(last.phase)
    policy = playbook.phase(index).approvals
    approvers = approvers_for(policy, default=default)
    if policy.required > 0 and not approvers.admit(actor.id, actor.groups):
        raise Refused(
            ErrorCode.NOT_AUTHORIZED,
            f"{actor.id} is not an approver for phase {last.phase}, whose change a rollback "
            "would revert; one of its approvers must roll it back",
        )
    withdrawal = _withdraw(rollout, by=actor.id, verb="rollback", now=now)
    back = _back_to(withdrawal.rollout, index=index, phase=last.phase)
    happening = Happening(
        kind=HappeningKind.ROLLED_BACK,
        phase=last.phase,
        by=actor.id,
        from_phase=rollout.phase,
        change=last.change,
    )
    intents: tuple[Intent, ...] = ()
    if last.change is not None:
        intents = (RevertChange(last.phase, last.change),)
    return Transition(back, (*withdrawal.happened, happening), intents)


def abort(rollout: Rollout, event: Abort, *, actor: Actor, now: datetime) -> Transition:
    """Stop where it stands; a pending request is withdrawn, applied changes stay."""
    guards.refuse_if_finished(rollout)
    withdrawal = _withdraw(rollout, by=actor.id, verb="abort", now=now)
    aborted = withdrawal.rollout.model_copy(update={"state": RolloutState.ABORTED})
    happening = Happening(
        kind=HappeningKind.ABORTED, phase=rollout.phase, by=actor.id, reason=event.reason
    )
    return Transition(aborted, (*withdrawal.happened, happening))


def apply_failed(
    rollout: Rollout, event: ApplyFailed, *, playbook: Playbook, now: datetime
) -> Transition:
    """The change of `event.phase` was not applied: back to that phase, nothing to revert."""
    done = [c.phase for c in rollout.completed]
    if not done or done[-1] != event.phase:
        raise Refused(
            ErrorCode.CONFLICT,
            f"phase {event.phase} is not the last completed phase of {rollout.service}",
        )
    back = _back_to(rollout, index=playbook.index_of(event.phase), phase=event.phase)
    failed = Happening(
        kind=HappeningKind.CHANGE_FAILED, phase=event.phase, by="meshgate", reason=event.reason
    )
    rolled = Happening(
        kind=HappeningKind.ROLLED_BACK,
        phase=event.phase,
        by="meshgate",
        from_phase=rollout.phase,
    )
    return Transition(back, (failed, rolled))


def _back_to(rollout: Rollout, *, index: int, phase: str) -> Rollout:
    return rollout.model_copy(
        update={
            "phase_index": index,
            "phase": phase,
            "state": RolloutState.ROLLED_BACK,
            "completed": rollout.completed[:-1],
        }
    )


def _withdraw(rollout: Rollout, *, by: str, verb: str, now: datetime) -> Transition:
    request = rollout.request
    if request is None:
        return Transition(rollout)
    decision = Decision(
        request_id=request.id,
        phase=request.phase,
        outcome=RequestOutcome.WITHDRAWN,
        by=by,
        at=now,
        reason=f"{verb} by {by}",
    )
    withdrawn = rollout.model_copy(update={"request": None, "last_decision": decision})
    happening = Happening(
        kind=HappeningKind.REQUEST_WITHDRAWN, phase=request.phase, by=by, withdrawn_by=verb
    )
    return Transition(withdrawn, (happening,))
