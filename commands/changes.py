"""Phase changes through the ClusterWriter port: plan, dry-run, apply, revert.

The plan is pure (workflows.changes.actions over the pass's snapshot); the writer does the I/O.
Failures come back as ChangeFailed (the writer's) or CommandError (a change that cannot be
built, or a cluster that cannot be read), for the one-pass runner to decide on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import yaml

from commands import numbers
from commands.context import Context
from commands.errors import CommandError
from commands.replies import ClusterAction, ClusterChange
from workflows.changes import actions, allow_list, preflight
from workflows.changes.actions import PlannedObject
from workflows.errors import ErrorCode
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange
from workflows.ports import ChangeFailed, ChangeUnconfirmed, ClusterWriter
from workflows.rollout.trail import TrailEntry


def plan(
    ctx: Context,
    *,
    change: PhaseChange,
    service: ServiceRef,
    snapshot: ClusterSnapshot,
    now: datetime,
) -> list[PlannedObject]:
    """The objects `change` needs for `service`; CommandError(conflict) when it cannot be built."""
    found = attempt(ctx, change=change, service=service, snapshot=snapshot, now=now)
    if isinstance(found, actions.ActionError):
        raise CommandError(ErrorCode.CONFLICT, f"cannot build the change: {found}") from found
    return found


def attempt(
    ctx: Context,
    *,
    change: PhaseChange,
    service: ServiceRef,
    snapshot: ClusterSnapshot,
    now: datetime,
) -> list[PlannedObject] | actions.ActionError:
    """The planned objects, or why the change cannot be built (for the change-present line).

    An AuthorizationPolicy admits the callers Prometheus saw with an mTLS identity over the
    default window; without Prometheus there are none, and the change says it cannot be built.
    """
    callers: tuple[str, ...] = ()
    if change.kind is ChangeKind.AUTHORIZATION_POLICY:
        seen = numbers.metrics_snapshot(ctx, service=service)
        callers = allow_list.from_callers(seen.callers or () if seen else ()).principals
    try:
        return actions.objects_for(
            change, service=service, snapshot=snapshot, callers=callers, now=now
        )
    except actions.ActionError as e:
        return e


def refuse_if_futile(
    planned: Sequence[PlannedObject], *, service: ServiceRef, snapshot: ClusterSnapshot
) -> None:
    """CommandError(conflict) when the cluster already shows the change would not take effect."""
    found = preflight.refusals(planned=planned, service=service, snapshot=snapshot)
    if found:
        raise CommandError(
            ErrorCode.CONFLICT, "refused before applying anything: " + "; ".join(found)
        )


def as_yaml(planned: Sequence[PlannedObject]) -> str:
    """The planned objects as YAML documents, to commit where meshgate does not write."""
    return yaml.safe_dump_all([p.body for p in planned], sort_keys=False)


def preview(writer: ClusterWriter, planned: list[PlannedObject]) -> str:
    """The server-side dry run's diff, for the approval request."""
    try:
        return writer.preview(planned) or "(the dry run shows no difference)"
    except ChangeFailed as e:
        raise CommandError(ErrorCode.CONFLICT, str(e)) from e


def apply(
    ctx: Context,
    writer: ClusterWriter,
    *,
    service: ServiceRef,
    phase: str,
    change: PhaseChange,
    planned: list[PlannedObject],
    entry: TrailEntry,
) -> ClusterChange:
    """Apply `planned` and keep what it replaced, for rollback.

    What the objects are now is kept before anything is written, so a change cut off mid-way
    (this replica killed, an apply not answered) can still be rolled back. Raises ChangeFailed
    (nothing stayed applied, nothing is kept) or ChangeUnconfirmed (the records stay).
    """
    before = numbers.metrics_snapshot(ctx, service=service)  # what `not_worse` compares with
    ctx.store.save_change(str(service), phase, writer.current(planned), entry=None)
    try:
        records = writer.apply(planned)
    except ChangeUnconfirmed:
        raise
    except ChangeFailed:
        ctx.store.forget_change(str(service), phase)
        raise
    if before is not None:
        ctx.store.save_before(
            str(service), phase, before, compare_at=ctx.clock() + ctx.compare_after
        )
    refs = [p.ref for p in planned]
    done = entry.model_copy(update={"detail": "applied " + ", ".join(refs)})
    ctx.store.save_change(str(service), phase, records, entry=done)
    return ClusterChange(
        action=ClusterAction.APPLIED, phase=phase, kind=change.kind.value, objects=refs
    )


def revert(
    ctx: Context,
    writer: ClusterWriter,
    *,
    service: ServiceRef,
    phase: str,
    change: PhaseChange,
    entry: TrailEntry,
) -> ClusterChange | None:
    """Restore what `phase`'s applied change replaced (None: nothing was recorded)."""
    saved = ctx.store.change_of(str(service), phase)
    if not saved:
        return None
    lines = writer.rollback(saved)
    ctx.store.forget_change(str(service), phase)
    undone = entry.model_copy(update={"detail": "reverted: " + "; ".join(lines)})
    ctx.store.record(str(service), undone)
    return ClusterChange(
        action=ClusterAction.REVERTED, phase=phase, kind=change.kind.value, objects=lines
    )
