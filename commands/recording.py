"""The rollout's history for one pass: the trail entry of a transition, and of a refusal.

Every command about a rollout that exists leaves an entry, refusals included; a change the
cluster refused, or a verification that failed, is accepted by the machine and recorded as a
failure (`conflict`). Also here: a refusal as the CommandError the person sees.
"""

from __future__ import annotations

from datetime import datetime

from commands.context import Context
from commands.errors import CommandError
from workflows.errors import ErrorCode
from workflows.gates.checklist import ItemStatus
from workflows.rollout.events import ApplyFailed, Event, Refused
from workflows.rollout.happenings import HappeningKind, Transition
from workflows.rollout.state import Rollout
from workflows.rollout.trail import TrailEntry


def entry(
    event: Event, actor: str, before: Rollout | None, transition: Transition, *, now: datetime
) -> TrailEntry:
    # a change the cluster refused, or one that failed its verification, is accepted by the
    # machine, and is a failure in the history
    failed = isinstance(event, ApplyFailed) or any(
        h.kind is HappeningKind.VERIFICATION_FAILED for h in transition.happened
    )
    return TrailEntry(
        at=now,
        actor=actor,
        action=event.verb,
        outcome=ErrorCode.CONFLICT.value if failed else "ok",
        phase=transition.happened[-1].phase if transition.happened else "",
        state_before=before.state.value if before is not None else "",
        state_after=transition.rollout.state.value,
        happened=transition.happened,
    )


def record_refusal(
    ctx: Context,
    event: Event,
    *,
    actor: str,
    stored: Rollout | None,
    refusal: Refused | CommandError,
    now: datetime,
) -> None:
    """A refusal about a rollout that exists goes in its history."""
    if stored is None:
        return
    ctx.store.record(
        str(event.service),
        TrailEntry(
            at=now,
            actor=actor,
            action=event.verb,
            outcome=refusal.code.value,
            phase=stored.phase,
            state_before=stored.state.value,
            state_after=stored.state.value,
            detail=refusal.message,
        ),
    )


def as_command_error(refusal: Refused | CommandError, *, event: Event) -> CommandError:
    if isinstance(refusal, CommandError):
        return refusal
    usage = ""
    if refusal.code is ErrorCode.GATE_FAILED:
        pending = [b.id for b in refusal.blockers if b.status is ItemStatus.PENDING]
        usage = f"fix what blocks it, then `advance {event.service}` again"
        if pending:
            usage = f"`attest {event.service} {pending[0]} [note]` for human items; {usage}"
    return CommandError(refusal.code, refusal.message, blockers=refusal.blockers, usage=usage)
