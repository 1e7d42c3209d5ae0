"""Running one state-machine event for a command: store it atomically, record refusals.

Shared by every verb that changes a rollout (start, advance, approve, reject, attest, rollback,
abort), so each of them records the same trail and refuses the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from commands import changes
from commands.context import Context
from commands.errors import CommandError, ErrorCode
from commands.replies import Reply
from commands.views import change_summary, rollout_view
from workflows.gates.checklist import ChecklistLine
from workflows.naming import ServiceRef
from workflows.ports import ChangeFailed
from workflows.rollout import machine
from workflows.rollout.machine import (
    Event,
    Happening,
    HappeningKind,
    Refused,
    Rollout,
    RolloutState,
    Transition,
)
from workflows.rollout.trail import TrailEntry


def run(
    ctx: Context,
    *,
    verb: str,
    actor: str,
    service: ServiceRef,
    event: Event | Callable[[Rollout | None], Event],
    checklist: tuple[ChecklistLine, ...] = (),
    checklist_phase: str = "",
) -> tuple[Transition, Reply]:
    """Decide `event` against the stored rollout and store the result by compare-and-set.

    `event` may be a function of the current rollout (re-run if a concurrent writer wins the
    race). A refusal is recorded in the trail and raised as CommandError. `checklist`, the
    gate of `checklist_phase`, is shown in the reply if the rollout is at that phase after.
    """
    now = ctx.clock()
    name = str(service)
    before_state = before_phase = ""

    def step(current: Rollout | None) -> Transition:
        nonlocal before_state, before_phase
        before_state = current.state.value if current is not None else ""
        before_phase = current.phase if current is not None else ""
        chosen = event(current) if callable(event) else event
        return machine.decide(
            current,
            chosen,
            playbook=ctx.playbook,
            now=now,
            default_approvers=ctx.default_approvers,
        )

    def entry(transition: Transition) -> TrailEntry:
        return TrailEntry(
            at=now,
            actor=actor,
            action=verb,
            outcome="ok",
            phase=transition.happened[-1].phase if transition.happened else "",
            state_before=before_state,
            state_after=transition.rollout.state.value,
            detail=describe(ctx, transition),
        )

    try:
        transition = ctx.store.transact(name, step, entry=entry)
    except Refused as refusal:
        if before_state:  # a refusal about a rollout that exists goes in its history
            ctx.store.record(
                name,
                TrailEntry(
                    at=now,
                    actor=actor,
                    action=verb,
                    outcome=refusal.code.value,
                    phase=before_phase,
                    state_before=before_state,
                    state_after=before_state,
                    detail=refusal.message,
                ),
            )
        raise CommandError(
            ErrorCode(refusal.code.value), refusal.message, blockers=refusal.blockers
        ) from refusal
    request = transition.rollout.request
    if request is not None:
        shown = request.checklist
    elif transition.rollout.phase == checklist_phase:
        shown = checklist
    else:
        shown = ()  # a checklist belongs to the phase it was evaluated for
    view = rollout_view(transition.rollout, playbook=ctx.playbook, checklist=shown)
    message = describe(ctx, transition)
    applied = _carry_out(ctx, transition=transition, service=service)
    if applied:
        message = f"{message}; {applied}"
    return transition, Reply(command=verb, ok=True, rollout=view, message=message)


def _carry_out(ctx: Context, *, transition: Transition, service: ServiceRef) -> str:
    """Make the cluster match the transition; if applying fails, move the rollout back.

    What was applied or reverted, or why it failed, goes in the history as meshgate's own
    entry, next to the entry of the person whose command caused it.
    """
    phase, state = transition.rollout.phase, transition.rollout.state.value

    def record(outcome: str, detail: str) -> None:
        ctx.store.record(
            str(service),
            TrailEntry(
                at=ctx.clock(),
                actor="meshgate",
                action="change",
                outcome=outcome,
                phase=phase,
                state_before=state,
                state_after=state,
                detail=detail,
            ),
        )

    try:
        done = changes.carry_out(ctx, transition=transition, service=service)
    except ChangeFailed as failure:
        record(ErrorCode.CONFLICT.value, str(failure))
        kinds = {h.kind for h in transition.happened}
        if HappeningKind.PHASE_COMPLETED not in kinds:
            raise CommandError(
                ErrorCode.UNAVAILABLE,
                f"{service} moved back to phase {transition.rollout.phase}, but {failure}; "
                "the cluster still has the change: revert it by hand",
            ) from failure
        back, _ = run(
            ctx,
            verb="rollback",
            actor="meshgate",
            service=service,
            event=machine.Rollback(actor="meshgate", automatic=True),
        )
        raise CommandError(
            ErrorCode.CONFLICT,
            f"{failure}; nothing was changed and {service} is back at phase "
            f"{back.rollout.phase} ({back.rollout.state.value})",
        ) from failure
    if done:
        record("ok", done)
    return done


def describe(ctx: Context, transition: Transition) -> str:
    """What a transition did, in one or two sentences a person reads."""
    rollout = transition.rollout
    said = []
    for happening in transition.happened:
        kind, phase, detail = happening.kind, happening.phase, happening.detail
        match kind:
            case HappeningKind.STARTED:
                title = ctx.playbook.phase(0).title
                said.append(f"started {rollout.service} at phase {phase} ({title})")
            case HappeningKind.ADVANCE_REQUESTED:
                request = rollout.request
                needed = request.required if request else 0
                change = change_summary(rollout, ctx.playbook)
                said.append(
                    f"phase {phase} passed its gate and awaits {needed} approval(s)"
                    + (f" to apply {change}" if change else "")
                )
            case HappeningKind.APPROVAL_RECORDED:
                said.append(f"approval recorded {detail}")
            case HappeningKind.PHASE_COMPLETED:
                said.append(f"phase {phase} completed ({detail})" + _applied(ctx, happening))
                if rollout.state is not RolloutState.COMPLETED:
                    said.append(f"now at phase {rollout.phase}")
            case HappeningKind.ROLLOUT_COMPLETED:
                said.append(f"{rollout.service} completed every phase")
            case HappeningKind.ROLLED_BACK:
                said.append(f"rolled back {detail}" + _applied(ctx, happening, revert=True))
            case _:
                said.append(f"{kind.value.replace('_', ' ')} {detail}".strip())
    return "; ".join(said)


def _applied(ctx: Context, happening: Happening, *, revert: bool = False) -> str:
    """Say plainly whether a phase's change was carried out."""
    if happening.change is None or not ctx.read_only_cluster:
        return ""
    verb = "reverted" if revert else "applied"
    return f" (its change, {happening.change.kind.value}, was NOT {verb}: the cluster is read-only)"
