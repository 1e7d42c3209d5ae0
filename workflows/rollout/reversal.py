"""Going back: rollback, abort and resuming, and a change that failed to apply.

Pure helpers of workflows.rollout.machine. A rollback reverts the phase's change (a
RevertChange intent); a failed apply reverts nothing (the writer applies all or nothing) and
moves the rollout back to the phase whose change failed, so it never reads completed without it.
Going back resets the attestations of the phase gone back to and of every later one.
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
    back = back_to(withdrawal.rollout, index=index, phase=last.phase, playbook=playbook)
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


def resume(rollout: Rollout, *, actor: Actor, playbook: Playbook, now: datetime) -> Transition:
    """`start` after `abort`: where it stopped, with its applied changes and attestations.

    A phase aborted while verifying is verified again, with a fresh deadline.
    """
    update: dict[str, object] = {"state": RolloutState.IN_PROGRESS, "version": rollout.version + 1}
    if rollout.verifying is not None:
        phase = playbook.phase(rollout.phase_index)
        update["state"] = RolloutState.VERIFYING
        update["verifying"] = rollout.verifying.model_copy(
            update={"since": now, "deadline": now + phase.verification.deadline, "held": False}
        )
    happening = Happening(
        kind=HappeningKind.STARTED, phase=rollout.phase, by=actor.id, reason="resumed"
    )
    return Transition(rollout.model_copy(update=update), (happening,))


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
    back = back_to(
        rollout, index=playbook.index_of(event.phase), phase=event.phase, playbook=playbook
    )
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


def back_to(rollout: Rollout, *, index: int, phase: str, playbook: Playbook) -> Rollout:
    """Back at phase `index`, its change undone: its attestations and later ones no longer hold.

    A person vouched for an item of the cluster as it was; after a rollback that item must be
    attested again (an attestation of an earlier phase still stands).
    """
    kept_phases = {p.id for p in playbook.phases[:index]}
    return rollout.model_copy(
        update={
            "phase_index": index,
            "phase": phase,
            "state": RolloutState.ROLLED_BACK,
            "completed": rollout.completed[:-1],
            "verifying": None,
            "attestations": tuple(a for a in rollout.attestations if a.phase in kept_phases),
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
        version=rollout.version + 1,
    )
    withdrawn = rollout.model_copy(update={"request": None, "last_decision": decision})
    happening = Happening(
        kind=HappeningKind.REQUEST_WITHDRAWN, phase=request.phase, by=by, withdrawn_by=verb
    )
    return Transition(withdrawn, (happening,))
