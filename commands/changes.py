"""Carrying out a phase's change through the ClusterWriter port: plan, preview, apply, revert.

The plan is pure (workflows.actions over a fresh snapshot); the writer does the I/O. An advance
that needs approval shows the server-side dry run's diff; the change is applied once the phase
completes, its records kept for rollback. If applying fails, the rollout is rolled back to the
phase at once and the reply says why, so a phase never reads "completed" without its change.
"""

from __future__ import annotations

from datetime import datetime

from commands import checking
from commands.context import Context
from commands.errors import CommandError, ErrorCode
from workflows.changes import actions
from workflows.changes.actions import PlannedObject
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.playbook import PhaseChange
from workflows.ports import ChangeFailed
from workflows.rollout.machine import HappeningKind, Transition

# Callers for the allow-list come from Istio request metrics, which this version does not read.
_NO_CALLERS: tuple[str, ...] = ()


def plan(
    ctx: Context,
    *,
    change: PhaseChange,
    service: ServiceRef,
    snapshot: ClusterSnapshot | None,
    now: datetime,
) -> list[PlannedObject]:
    """The objects `change` needs for `service`; CommandError(conflict) when it cannot be built."""
    if snapshot is None:
        snapshot, why = checking.read_cluster(ctx)
        if snapshot is None:
            raise CommandError(ErrorCode.UNAVAILABLE, f"cannot plan the change: {why}")
    try:
        return actions.objects_for(
            change, service=service, snapshot=snapshot, callers=_NO_CALLERS, now=now
        )
    except actions.ActionError as e:
        raise CommandError(ErrorCode.CONFLICT, f"cannot build the change: {e}") from e


def preview(
    ctx: Context,
    *,
    change: PhaseChange | None,
    service: ServiceRef,
    snapshot: ClusterSnapshot | None,
) -> str:
    """The dry run's diff for the approval message ("" without a change or a writer)."""
    if change is None or ctx.writer is None:
        return ""
    planned = plan(ctx, change=change, service=service, snapshot=snapshot, now=ctx.clock())
    try:
        return ctx.writer.preview(planned) or "(the dry run shows no difference)"
    except ChangeFailed as e:
        raise CommandError(ErrorCode.CONFLICT, str(e)) from e


def carry_out(ctx: Context, *, transition: Transition, service: ServiceRef) -> str:
    """Apply or revert what the transition's happenings name; a sentence for the reply.

    Raises ChangeFailed when applying fails (the caller rolls the rollout back).
    """
    if ctx.writer is None:
        return ""
    said = []
    for happening in transition.happened:
        change = happening.change
        if change is None:
            continue
        if happening.kind is HappeningKind.PHASE_COMPLETED:
            planned = plan(ctx, change=change, service=service, snapshot=None, now=ctx.clock())
            ctx.store.save_change(str(service), happening.phase, ctx.writer.apply(planned))
            said.append("applied " + ", ".join(p.ref for p in planned))
        elif happening.kind is HappeningKind.ROLLED_BACK:
            saved = ctx.store.change_of(str(service), happening.phase)
            if saved:
                said.append("reverted: " + "; ".join(ctx.writer.rollback(saved)))
                ctx.store.forget_change(str(service), happening.phase)
    return "; ".join(said)
