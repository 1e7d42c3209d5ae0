"""The per-service rollout state machine: `decide(rollout, event, ...)` is pure.

It returns the new state, what happened, and the intents the caller carries out (apply this
change, revert that one, show the dry run in the request), or raises Refused with the code a
person sees. The approval policy (who may approve, how many, self-approval, expiry) is enforced
here, so every front end gets the same answers; a change that failed to apply comes back as
the `ApplyFailed` event, decided here like any other. States: workflows.rollout.state.
"""

from __future__ import annotations

from datetime import datetime

from workflows.errors import ErrorCode
from workflows.gates.checklist import blockers, timestamp
from workflows.playbook import Phase, Playbook
from workflows.rollout import access, approvals, attesting, guards, reversal, verification
from workflows.rollout.events import (
    Abort,
    Actor,
    Advance,
    ApplyFailed,
    Approve,
    Attest,
    Event,
    Facts,
    Refused,
    Reject,
    Rollback,
    Start,
    Verify,
)
from workflows.rollout.happenings import (
    ApplyChange,
    DryRun,
    Happening,
    HappeningKind,
    Intent,
    Transition,
)
from workflows.rollout.state import (
    ApprovalRequest,
    Approvers,
    CompletedPhase,
    Decision,
    RequestOutcome,
    Rollout,
    RolloutState,
    approvers_for,
)

NO_FACTS = Facts()
NOBODY = Approvers()

items_to_check = verification.items_to_check
checklist_of = verification.checklist_of


def current(rollout: Rollout, *, now: datetime) -> Transition:
    """The rollout as of `now`: a pending request past its expiry has expired (not stored)."""
    request = rollout.request
    if request is None or now < request.expires_at:
        return Transition(rollout)
    decision = Decision(
        request_id=request.id,
        phase=request.phase,
        outcome=RequestOutcome.EXPIRED,
        by="meshgate",
        at=request.expires_at,
        version=rollout.version,  # decided as of the stored document, which it does not move
    )
    expired = rollout.model_copy(
        update={"request": None, "last_decision": decision, "state": RolloutState.IN_PROGRESS}
    )
    happening = Happening(
        kind=HappeningKind.REQUEST_EXPIRED,
        phase=request.phase,
        by="meshgate",
        deadline=request.expires_at,
    )
    return Transition(expired, (happening,))


def groups_in_question(
    rollout: Rollout | None, event: Event, *, playbook: Playbook, default: Approvers
) -> frozenset[str]:
    """The approver groups whose membership decides `event` (the caller asks the directory).

    Approve, reject and abort are judged by the current phase's approvers; a rollback by those
    of the phase whose change it reverts.
    """
    if rollout is None:
        return frozenset()
    match event:
        case Approve() | Reject() | Abort():
            policy = playbook.phase(rollout.phase_index).approvals
        case Rollback() if rollout.completed:
            policy = playbook.phase(playbook.index_of(rollout.completed[-1].phase)).approvals
        case _:
            return frozenset()
    return approvers_for(policy, default=default).groups


def decide(
    rollout: Rollout | None,
    event: Event,
    *,
    actor: Actor,
    playbook: Playbook,
    now: datetime,
    facts: Facts = NO_FACTS,
    default_approvers: Approvers = NOBODY,
) -> Transition:
    """Apply `event`, asked by `actor`, to `rollout` at `now`; raise Refused when it may not be.

    Pure: the caller stores the result (compare-and-set on `version`) and carries out its
    intents, answering a DryRun intent by deciding again with `facts.preview` filled in.
    """
    if isinstance(event, Start):
        return _start(rollout, event, actor=actor, playbook=playbook, now=now)
    if rollout is None:
        raise Refused(ErrorCode.NOT_FOUND, "no rollout for this service: `start` it first")
    expiry = current(rollout, now=now)
    rollout = expiry.rollout
    match event:
        case Advance():
            result = _advance(
                rollout,
                actor=actor,
                facts=facts,
                playbook=playbook,
                now=now,
                default=default_approvers,
            )
        case Approve():
            result, enough = approvals.approve(
                rollout, event, actor=actor, playbook=playbook, now=now, default=default_approvers
            )
            if enough:
                result = _complete(result, playbook=playbook, now=now)
        case Reject():
            result = approvals.reject(
                rollout, event, actor=actor, playbook=playbook, now=now, default=default_approvers
            )
        case Attest():
            result = attesting.attest(rollout, event, actor=actor, playbook=playbook, now=now)
        case Rollback():
            result = reversal.rollback(
                rollout, actor=actor, playbook=playbook, now=now, default=default_approvers
            )
        case Abort():
            guards.refuse_if_finished(rollout)
            access.check_abort(rollout, actor=actor, playbook=playbook, default=default_approvers)
            result = reversal.abort(rollout, event, actor=actor, now=now)
        case ApplyFailed():
            result = reversal.apply_failed(rollout, event, playbook=playbook, now=now)
        case Verify():
            result = verification.check(
                rollout, actor=actor, facts=facts, playbook=playbook, now=now
            )
    update: dict[str, object] = {"version": rollout.version + 1, "updated_at": now}
    decision = result.rollout.last_decision
    if isinstance(event, ApplyFailed | Verify) and decision and decision.version == rollout.version:
        # meshgate's follow-up of a decision: a late click is still about that decision
        update["last_decision"] = decision.model_copy(update={"version": rollout.version + 1})
    moved = result.rollout.model_copy(update=update)
    return Transition(moved, expiry.happened + result.happened, result.intents)


def _start(
    rollout: Rollout | None, event: Start, *, actor: Actor, playbook: Playbook, now: datetime
) -> Transition:
    if rollout is not None and rollout.state is not RolloutState.ABORTED:
        raise Refused(
            ErrorCode.CONFLICT,
            f"{rollout.service} is already rolling out (phase {rollout.phase}, "
            f"{rollout.state.value}); use `status` to see where it stands",
        )
    if rollout is not None:
        return reversal.resume(rollout, actor=actor, playbook=playbook, now=now)
    first = playbook.phase(0)
    started = Rollout(
        service=str(event.service),
        playbook=playbook.name,
        phase_index=0,
        phase=first.id,
        state=RolloutState.IN_PROGRESS,
        started_by=actor.id,
        started_at=now,
        updated_at=now,
        version=1,
    )
    happening = Happening(kind=HappeningKind.STARTED, phase=first.id, by=actor.id)
    return Transition(started, (happening,))


def _advance(
    rollout: Rollout,
    *,
    actor: Actor,
    facts: Facts,
    playbook: Playbook,
    now: datetime,
    default: Approvers,
) -> Transition:
    guards.refuse_if_finished(rollout)
    phase = playbook.phase(rollout.phase_index)
    if rollout.state is RolloutState.VERIFYING:
        return verification.check(rollout, actor=actor, facts=facts, playbook=playbook, now=now)
    if rollout.request is not None:
        request = rollout.request
        raise Refused(
            ErrorCode.CONFLICT,
            f"phase {phase.id} already awaits approval (requested by {request.requested_by} at "
            f"{timestamp(request.requested_at)}, {len(request.approvals)}/{request.required} "
            "approvals)",
        )
    blocking = blockers(facts.checklist)
    if blocking:
        names = ", ".join(f"{line.id} ({line.status.value})" for line in blocking)
        raise Refused(
            ErrorCode.GATE_FAILED, f"phase {phase.id} cannot advance: {names}", blockers=blocking
        )
    access.check_own_attestations(rollout, actor=actor, phase=phase, playbook=playbook)
    if phase.approvals.required == 0:
        return _complete(Transition(rollout), playbook=playbook, now=now, by=actor.id)
    request = ApprovalRequest(
        id=f"{phase.id}-{rollout.version + 1}",
        phase=phase.id,
        requested_by=actor.id,
        requested_at=now,
        expires_at=now + phase.approvals.expires_after,
        required=phase.approvals.required,
        checklist=facts.checklist,
        preview=facts.preview or "",
        metrics=facts.metrics,
        manifest=facts.manifest,
        approvers=_named(approvers_for(phase.approvals, default=default)),
    )
    waiting = rollout.model_copy(
        update={"request": request, "state": RolloutState.AWAITING_APPROVAL}
    )
    happening = Happening(
        kind=HappeningKind.ADVANCE_REQUESTED,
        phase=phase.id,
        by=actor.id,
        required=request.required,
        deadline=request.expires_at,
        change=phase.change,
    )
    intents: tuple[Intent, ...] = ()
    if phase.change is not None and facts.preview is None:
        intents = (DryRun(phase.id, phase.change),)
    return Transition(waiting, (happening,), intents)


def _complete(so_far: Transition, *, playbook: Playbook, now: datetime, by: str = "") -> Transition:
    """The gate and approvals of the current phase are done: record it, apply its change.

    A phase with a change or verify items is verified before it completes; one with neither
    completes at once.
    """
    rollout = so_far.rollout
    phase: Phase = playbook.phase(rollout.phase_index)
    request = rollout.request
    votes = tuple(v.by for v in request.approvals) if request is not None else ()
    who = by or (votes[-1] if votes else "")
    done = CompletedPhase(phase=phase.id, at=now, change=phase.change)
    recorded = rollout.model_copy(update={"request": None, "completed": (*rollout.completed, done)})
    intents: tuple[Intent, ...] = so_far.intents
    if phase.change is not None:
        intents = (*intents, ApplyChange(phase.id, phase.change))
    if phase.verified:
        return verification.begin(
            Transition(recorded, so_far.happened, intents),
            phase=phase,
            by=who,
            approvers=votes,
            now=now,
        )
    moved = verification.move_on(recorded, playbook=playbook, by=who, approvers=votes)
    return Transition(moved.rollout, so_far.happened + moved.happened, intents)


def _named(approvers: Approvers) -> tuple[str, ...]:
    return (*sorted(approvers.users), *sorted(approvers.groups))
