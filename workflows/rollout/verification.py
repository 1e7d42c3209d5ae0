"""Phases that prove themselves: what to check, and what a verifying phase's lines decide.

Pure helpers of workflows.rollout.machine. A phase with a change or `verify:` items does not
complete when its approvals are in: it moves to `verifying` (the change is recorded, so
rollback and ApplyFailed work as before) and completes only when its verify lines pass. Lines
still failing at the playbook's deadline roll the change back (`on_failure: rollback`) or hold
the rollout for a person (`hold`); before the deadline nothing happens, and a transition with no
happenings is not written by the runner (no version bump, no trail entry).

`items_to_check` is the one place that says which items an event is decided on (the gate, or
the verify items and the change that must be present), so the runner evaluates what it returns
and no layer restates the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.errors import ErrorCode
from workflows.gates.checklist import ChecklistLine, blockers, timestamp
from workflows.playbook import ChecklistItem, OnFailure, Phase, PhaseChange, Playbook
from workflows.rollout import reversal
from workflows.rollout.events import Actor, Advance, Event, Facts, Refused, Verify
from workflows.rollout.happenings import (
    Happening,
    HappeningKind,
    Intent,
    RevertChange,
    Transition,
)
from workflows.rollout.state import Rollout, RolloutState, Verifying

CHANGE_PRESENT = "change-present"
"""The id of the line that says the phase's change is in the cluster with the planned spec."""


@dataclass(frozen=True)
class ToCheck:
    """What to evaluate for a decision: items of `phase`, and the change that must be present.

    `change` is set while verifying a phase with a change: the runner adds the CHANGE_PRESENT
    line (the planned objects exist with the planned spec), which is how a change committed
    through GitOps, or applied by meshgate and then overwritten, is seen.
    """

    phase: Phase
    items: tuple[ChecklistItem, ...]
    verifying: bool = False
    change: PhaseChange | None = None


def checklist_of(rollout: Rollout, *, playbook: Playbook) -> ToCheck:
    """The checklist a rollout works on now: its verify items while verifying, else the gate."""
    phase = playbook.phase(rollout.phase_index)
    if rollout.state is RolloutState.VERIFYING:
        return ToCheck(phase=phase, items=phase.verify, verifying=True, change=phase.change)
    return ToCheck(phase=phase, items=phase.gate)


def items_to_check(rollout: Rollout | None, event: Event, *, playbook: Playbook) -> ToCheck | None:
    """What `event` is decided on (None: it needs no checklist).

    `advance` is decided on the gate, or on the verify lines while verifying; meshgate's
    `Verify` only on the verify lines.
    """
    if rollout is None or rollout.finished:
        return None
    verifying = rollout.state is RolloutState.VERIFYING
    if isinstance(event, Verify) and verifying:
        return checklist_of(rollout, playbook=playbook)
    if isinstance(event, Advance) and rollout.request is None:
        return checklist_of(rollout, playbook=playbook)
    return None


def begin(
    so_far: Transition,
    *,
    phase: Phase,
    by: str,
    approvers: tuple[str, ...],
    now: datetime,
) -> Transition:
    """The phase's approvals are in: verify it (its change is applied by the intents)."""
    deadline = now + phase.verification.deadline
    waiting = so_far.rollout.model_copy(
        update={
            "state": RolloutState.VERIFYING,
            "verifying": Verifying(phase=phase.id, since=now, deadline=deadline),
        }
    )
    happening = Happening(
        kind=HappeningKind.VERIFYING,
        phase=phase.id,
        by=by,
        approvers=approvers,
        deadline=deadline,
        change=phase.change,
    )
    return Transition(waiting, (*so_far.happened, happening), so_far.intents)


def move_on(
    rollout: Rollout, *, playbook: Playbook, by: str, approvers: tuple[str, ...] = ()
) -> Transition:
    """The current phase is done: on to the next phase, or the rollout is completed."""
    phase = playbook.phase(rollout.phase_index)
    next_index = rollout.phase_index + 1
    last = next_index >= len(playbook.phases)
    update: dict[str, object] = {"request": None, "verifying": None}
    if last:
        update["state"] = RolloutState.COMPLETED
    else:
        update |= {
            "phase_index": next_index,
            "phase": playbook.phase(next_index).id,
            "state": RolloutState.IN_PROGRESS,
        }
    completed = Happening(
        kind=HappeningKind.PHASE_COMPLETED,
        phase=phase.id,
        by=by,
        approvers=approvers,
        next_phase="" if last else playbook.phase(next_index).id,
        change=phase.change,
    )
    happened = [completed]
    if last:
        happened.append(Happening(kind=HappeningKind.ROLLOUT_COMPLETED, phase=phase.id))
    return Transition(rollout.model_copy(update=update), tuple(happened))


def check(
    rollout: Rollout, *, actor: Actor, facts: Facts, playbook: Playbook, now: datetime
) -> Transition:
    """Decide a verifying phase on its verify lines (in `facts`), asked by meshgate or a person.

    All pass: the phase completes. Failing at or after the deadline: roll back or hold, as the
    playbook says. Otherwise nothing happens; a person asking is told what is awaited.
    """
    verifying = rollout.verifying
    if rollout.state is not RolloutState.VERIFYING or verifying is None:
        return Transition(rollout)  # rolled back or moved on since the check was scheduled
    phase = playbook.phase(rollout.phase_index)
    failing = blockers(facts.checklist)
    if facts.checklist and not failing:
        return move_on(rollout, playbook=playbook, by=actor.id)
    person = actor.id != "meshgate"
    if verifying.held or now < verifying.deadline:
        if not person:
            return Transition(rollout)  # still waiting, or held for a person: nothing new
        raise _still_verifying(rollout, phase=phase, failing=failing, verifying=verifying)
    return _failed(rollout, phase=phase, failing=failing, playbook=playbook)


def _failed(
    rollout: Rollout, *, phase: Phase, failing: tuple[ChecklistLine, ...], playbook: Playbook
) -> Transition:
    """The deadline passed with items failing: roll the change back, or hold."""
    hold = phase.verification.on_failure is OnFailure.HOLD
    names = tuple(line.id for line in failing) or ("(nothing could be checked)",)
    reasons = "; ".join(f"{line.id}: {line.reason}" for line in failing if line.reason)
    failed = Happening(
        kind=HappeningKind.VERIFICATION_FAILED,
        phase=phase.id,
        by="meshgate",
        items=names,
        reason=reasons,
        held=hold,
        change=phase.change,
    )
    if hold:
        assert rollout.verifying is not None  # noqa: S101 - checked by the caller
        held = rollout.model_copy(
            update={"verifying": rollout.verifying.model_copy(update={"held": True})}
        )
        return Transition(held, (failed,))
    done = rollout.completed[-1] if rollout.completed else None
    back = reversal.back_to(rollout, index=rollout.phase_index, phase=phase.id, playbook=playbook)
    rolled = Happening(
        kind=HappeningKind.ROLLED_BACK,
        phase=phase.id,
        by="meshgate",
        from_phase=phase.id,
        change=done.change if done is not None else None,
    )
    intents: tuple[Intent, ...] = ()
    if done is not None and done.phase == phase.id and done.change is not None:
        intents = (RevertChange(phase.id, done.change),)
    return Transition(back, (failed, rolled), intents)


def _still_verifying(
    rollout: Rollout,
    *,
    phase: Phase,
    failing: tuple[ChecklistLine, ...],
    verifying: Verifying,
) -> Refused:
    names = ", ".join(f"{line.id} ({line.status.value})" for line in failing) or "its checks"
    if verifying.held:
        return Refused(
            ErrorCode.CONFLICT,
            f"the verification of phase {phase.id} failed at {timestamp(verifying.deadline)} "
            f"and is held: {names}; fix it and `advance` again, or `rollback {rollout.service}`",
            blockers=failing,
        )
    return Refused(
        ErrorCode.CONFLICT,
        f"phase {phase.id} is verifying its change until {timestamp(verifying.deadline)}; "
        f"waiting for {names}",
        blockers=failing,
    )
