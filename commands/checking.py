"""Evaluating a phase's gate for a service: read the cluster once, run the checks, build lines.

Metric items read Prometheus (commands.numbers); without it they are `unknown` and say how to
configure one. `not_worse` items of a phase's verification compare with the numbers kept from
just before its change.
"""

from __future__ import annotations

from commands import changes, numbers
from commands.context import Context
from workflows.changes import presence
from workflows.gates import checklist, checks
from workflows.gates.checklist import AttestationNote, ChecklistLine, ItemStatus
from workflows.gates.metrics_snapshot import MetricsSnapshot
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem, Phase
from workflows.rollout.verification import CHANGE_PRESENT, ToCheck


def read_cluster(ctx: Context) -> tuple[ClusterSnapshot | None, str]:
    """One snapshot of the cluster, or None and why not."""
    if ctx.cluster is None:
        return None, "no cluster configured (--manifests or --context)"
    return ctx.cluster.snapshot(), ""


def lines_for(
    ctx: Context,
    *,
    service: ServiceRef,
    to_check: ToCheck,
    attestations: tuple[AttestationNote, ...],
    snapshot: ClusterSnapshot | None = None,
    snapshot_error: str = "",
) -> tuple[ChecklistLine, ...]:
    """What `to_check` names, evaluated: its items, and whether its change is in the cluster."""
    needs_cluster = to_check.change is not None or any(i.check for i in to_check.items)
    if snapshot is None and not snapshot_error and needs_cluster:
        snapshot, snapshot_error = read_cluster(ctx)
    # a verification compares `not_worse` items with the numbers from just before the change
    compares = any(i.metric is not None and i.metric.not_worse for i in to_check.items)
    before = (
        ctx.store.before_of(str(service), to_check.phase.id)
        if to_check.change is not None and compares
        else None
    )
    lines = _evaluate(
        ctx,
        service=service,
        phase=to_check.phase,
        items=to_check.items,
        attestations=attestations,
        snapshot=snapshot,
        snapshot_error=snapshot_error,
        before=before,
    )
    if to_check.change is None:
        return lines
    if snapshot is None:
        result = CheckResult(
            Verdict.UNKNOWN, reason=f"could not read the cluster: {snapshot_error}"
        )
    else:
        planned = changes.attempt(
            ctx, change=to_check.change, service=service, snapshot=snapshot, now=ctx.clock()
        )
        result = presence.check(planned=planned, snapshot=snapshot)
    present = ChecklistLine(
        id=CHANGE_PRESENT,
        title=f"The change is in the cluster ({to_check.change.kind.value})",
        status=ItemStatus.PASS
        if result.verdict is Verdict.PASS
        else (ItemStatus.FAIL if result.verdict is Verdict.FAIL else ItemStatus.UNKNOWN),
        reason=result.reason,
        fix=result.fix,
    )
    return (present, *lines)


def gate_lines(
    ctx: Context,
    *,
    service: ServiceRef,
    phase: Phase,
    attestations: tuple[AttestationNote, ...],
    snapshot: ClusterSnapshot | None = None,
    snapshot_error: str = "",
) -> tuple[ChecklistLine, ...]:
    """The phase's gate for `service`, every item evaluated; nothing unchecked passes."""
    return _evaluate(
        ctx,
        service=service,
        phase=phase,
        items=phase.gate,
        attestations=attestations,
        snapshot=snapshot,
        snapshot_error=snapshot_error,
    )


def _evaluate(
    ctx: Context,
    *,
    service: ServiceRef,
    phase: Phase,
    items: tuple[ChecklistItem, ...],
    attestations: tuple[AttestationNote, ...],
    snapshot: ClusterSnapshot | None,
    snapshot_error: str,
    before: MetricsSnapshot | None = None,
) -> tuple[ChecklistLine, ...]:
    check_ids = [item.check for item in items if item.check is not None]
    if snapshot is None and not snapshot_error and check_ids:
        snapshot, snapshot_error = read_cluster(ctx)
    results = checks.run(
        snapshot=snapshot,
        service=service,
        check_ids=check_ids,
        registry=ctx.checks,
        snapshot_error=snapshot_error,
    )
    return checklist.evaluate(
        phase_id=phase.id,
        items=items,
        check_results=results,
        metric_results=numbers.metric_results(ctx, service=service, items=items, before=before),
        attestations=attestations,
    )
