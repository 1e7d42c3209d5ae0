"""Reading a service's numbers from Prometheus for a command: metric items and snapshots.

Metric items read Prometheus through the MetricsSource port, one snapshot per window the items
use; without a source they are `unknown` and say how to configure one. Kept apart from the
checklist (commands.checking) and the changes (commands.changes), which both read numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from commands.context import Context
from workflows.gates import metric_gates
from workflows.gates.metrics_snapshot import MetricsSnapshot, Target
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem

# The window of the snapshots shown in approval requests and by `metrics` (DESIGN.md's example).
DEFAULT_WINDOW = timedelta(minutes=30)

NO_METRICS = CheckResult(
    Verdict.UNKNOWN,
    reason="metric gates need Prometheus, and none is configured",
    fix="set MESHGATE_PROMETHEUS_URL (or --prometheus-url) to the Prometheus that scrapes Istio",
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
        return {item.id: NO_METRICS for item in metric_items}
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
