"""Carrying out a transition's intents after it was written: apply or revert phase changes.

A failure is reported, not raised: a change the cluster refused comes back to the one-pass
runner (commands.transitions), which decides it as the ApplyFailed event; an apply the cluster
did not answer (ChangeUnconfirmed) leaves the rollout where the machine put it, says so, and
keeps what the objects were before for a rollback; a revert that failed leaves the rollout
where the machine put it and tells the person to finish it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from commands import changes
from commands.context import Context
from commands.errors import CommandError
from commands.replies import ClusterAction, ClusterChange
from workflows.errors import ErrorCode
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.ports import ChangeFailed, ChangeUnconfirmed
from workflows.rollout.events import Event
from workflows.rollout.happenings import ApplyChange, DryRun, RevertChange, Transition
from workflows.rollout.trail import TrailEntry


@dataclass
class Outcome:
    """What was carried out, and the failure to report (with the phase whose apply failed)."""

    changes: list[ClusterChange] = field(default_factory=list)
    error: CommandError | None = None
    failed_apply: str | None = None


def carry_out(
    event: Event,
    transition: Transition,
    *,
    ctx: Context,
    snapshot: Callable[[], ClusterSnapshot],
) -> Outcome:
    """Apply or revert what the intents name; report a failure instead of raising it."""
    outcome = Outcome()
    writer = ctx.writer
    for intent in transition.intents:
        if isinstance(intent, DryRun):
            continue
        if writer is None:
            action = (
                ClusterAction.NOT_APPLIED
                if isinstance(intent, ApplyChange)
                else ClusterAction.NOT_REVERTED
            )
            outcome.changes.append(
                ClusterChange(action=action, phase=intent.phase, kind=intent.change.kind.value)
            )
            continue
        entry = TrailEntry(
            at=ctx.clock(),
            actor="meshgate",
            action="change",
            outcome="ok",
            phase=transition.rollout.phase,
            state_before=transition.rollout.state.value,
            state_after=transition.rollout.state.value,
        )
        try:
            if isinstance(intent, ApplyChange):
                current = snapshot()
                planned = changes.plan(
                    ctx,
                    change=intent.change,
                    service=event.service,
                    snapshot=current,
                    now=ctx.clock(),
                )
                changes.refuse_if_futile(planned, service=event.service, snapshot=current)
                outcome.changes.append(
                    changes.apply(
                        ctx,
                        writer,
                        service=event.service,
                        phase=intent.phase,
                        change=intent.change,
                        planned=planned,
                        entry=entry,
                    )
                )
            elif isinstance(intent, RevertChange):
                reverted = changes.revert(
                    ctx,
                    writer,
                    service=event.service,
                    phase=intent.phase,
                    change=intent.change,
                    entry=entry,
                )
                if reverted is not None:
                    outcome.changes.append(reverted)
        except ChangeUnconfirmed as unconfirmed:
            # not ApplyFailed: the change may be in the cluster; verification (or a rollback,
            # from the records kept before the apply) settles it
            unknown = {"outcome": ErrorCode.UNAVAILABLE.value, "detail": str(unconfirmed)}
            ctx.store.record(str(event.service), entry.model_copy(update=unknown))
            outcome.error = CommandError(
                ErrorCode.UNAVAILABLE,
                f"{event.service} is at phase {transition.rollout.phase} "
                f"({transition.rollout.state.value}), but {unconfirmed}: it may be in the "
                "cluster or not; `status` shows what the cluster has, and `rollback` restores "
                "what was there before",
            )
            break
        except (ChangeFailed, CommandError) as failure:
            message = failure.message if isinstance(failure, CommandError) else str(failure)
            if isinstance(intent, ApplyChange):
                # decided next, as ApplyFailed: its trail entry carries the reason
                outcome.error = CommandError(ErrorCode.CONFLICT, message)
                outcome.failed_apply = intent.phase
            else:
                failed = {"outcome": ErrorCode.CONFLICT.value, "detail": message}
                ctx.store.record(str(event.service), entry.model_copy(update=failed))
                outcome.error = CommandError(
                    ErrorCode.UNAVAILABLE,
                    f"{event.service} moved back to phase {transition.rollout.phase}, but "
                    f"{message}; the cluster still has the change: revert it by hand",
                )
            break
    return outcome
