"""Evaluating a phase's gate for a service: read the cluster once, run the checks, build lines.

Metric gates read Prometheus through the MetricsSource port; without one they are `unknown`
and say how to configure it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from commands.context import Context
from workflows.gates import checklist, checks, metric_gates
from workflows.gates.checklist import AttestationNote, ChecklistLine
from workflows.gates.metrics_snapshot import MetricsSnapshot, Target
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem, Phase

# The window of the snapshots shown in approval requests and by `metrics` (DESIGN.md's example).
DEFAULT_WINDOW = timedelta(minutes=30)

_NO_METRICS = CheckResult(
    Verdict.UNKNOWN,
    reason="metric gates need Prometheus, and none is configured",
    fix="set MESHGATE_PROMETHEUS_URL (or --prometheus-url) to the Prometheus that scrapes Istio",
)


def read_cluster(ctx: Context) -> tuple[ClusterSnapshot | None, str]:
    """One snapshot of the cluster, or None and why not."""
    if ctx.cluster is None:
        return None, "no cluster configured (--manifests or --context)"
    return ctx.cluster.snapshot(), ""


def gate_lines(
    ctx: Context,
    *,
    service: ServiceRef,
    phase: Phase,
    attestations: tuple[AttestationNote, ...],
    snapshot: ClusterSnapshot | None = None,
    snapshot_error: str = "",
    items: Sequence[ChecklistItem] | None = None,
    before: MetricsSnapshot | None = None,
) -> tuple[ChecklistLine, ...]:
    """The phase's gate (or `items`) for `service`, every item evaluated; nothing unchecked passes.

    Cluster checks read the snapshot; metric items read Prometheus through ctx.metrics, one
    snapshot per window the items use; `before` is what `not_worse` items compare with.
    """
    items = tuple(phase.gate if items is None else items)
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
        metric_results=metric_results(ctx, service=service, items=items, before=before),
        attestations=attestations,
    )


def metric_results(
    ctx: Context,
    *,
    service: ServiceRef,
    items: Sequence[ChecklistItem],
    before: MetricsSnapshot | None = None,
) -> dict[str, CheckResult]:
    """The verdicts of the metric items, read from Prometheus (unknown without one)."""
    metric_items = [item for item in items if item.metric is not None]
    if not metric_items:
        return {}
    if ctx.metrics is None:
        return {item.id: _NO_METRICS for item in metric_items}
    now = ctx.clock()
    current = [
        ctx.metrics.snapshots(targets=[Target(service=service)], at=now, window=window)[service]
        for window in sorted(metric_gates.windows(metric_items))
    ]
    queries = metric_gates.custom_queries(items=metric_items, service=service)
    custom = ctx.metrics.custom_values(queries=queries, at=now) if queries else None
    return metric_gates.metric_results(
        items=metric_items, current=current, before=before, custom=custom
    )


def metrics_snapshot(
    ctx: Context, *, service: ServiceRef, window: timedelta = DEFAULT_WINDOW
) -> MetricsSnapshot | None:
    """The service's metrics now over `window` (None without Prometheus)."""
    if ctx.metrics is None:
        return None
    found = ctx.metrics.snapshots(targets=[Target(service=service)], at=ctx.clock(), window=window)
    return found.get(service)
