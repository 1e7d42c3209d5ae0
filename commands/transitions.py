"""Running one state-machine event for a command: store it atomically, record refusals.

Shared by every verb that changes a rollout (start, advance, approve, reject, attest, rollback,
abort), so each of them records the same trail and refuses the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from commands.context import Context
from commands.errors import CommandError, ErrorCode
from commands.replies import Reply
from commands.views import rollout_view
from workflows import rollout as machine
from workflows.checklist import ChecklistLine
from workflows.naming import ServiceRef
from workflows.rollout import Event, Refused, Rollout, Transition
from workflows.trail import TrailEntry


def run(
    ctx: Context,
    *,
    verb: str,
    actor: str,
    service: ServiceRef,
    event: Event | Callable[[Rollout | None], Event],
    checklist: tuple[ChecklistLine, ...] | None = None,
) -> tuple[Transition, Reply]:
    """Decide `event` against the stored rollout and store the result by compare-and-set.

    `event` may be a function of the current rollout (re-run if a concurrent writer wins the
    race). A refusal is recorded in the trail and raised as CommandError.
    """
    now = ctx.clock()
    name = str(service)
    before_state = ""

    def step(current: Rollout | None) -> Transition:
        nonlocal before_state
        before_state = current.state.value if current is not None else ""
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
            detail="; ".join(
                f"{h.kind.value.replace('_', ' ')} {h.detail}".strip() for h in transition.happened
            ),
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
                    state_before=before_state,
                    state_after=before_state,
                    detail=refusal.message,
                ),
            )
        raise CommandError(
            ErrorCode(refusal.code.value), refusal.message, blockers=refusal.blockers
        ) from refusal
    shown = checklist
    if shown is None:
        request = transition.rollout.request
        shown = request.checklist if request is not None else ()
    view = rollout_view(transition.rollout, playbook=ctx.playbook, checklist=shown)
    return transition, Reply(command=verb, ok=True, rollout=view)
