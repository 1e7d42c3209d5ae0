"""`metrics NS/NAME`: the service's Istio metrics now, and their history for a chart.

One snapshot (the Metrics JSON of DESIGN.md) over the default window and the last few hours of
request rate, success rate, p99 and mTLS share, with the rollout's phase changes to mark on
the chart; the front ends draw it (a file in the console, an upload in the rollout's thread).
"""

from __future__ import annotations

from datetime import timedelta

from commands import numbers
from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Metrics
from commands.replies import MetricsView, PhaseChangeMark, Reply
from workflows.errors import ErrorCode
from workflows.gates.checklist import timestamp
from workflows.gates.metrics_snapshot import Target

# How far back the chart looks, and its resolution (one point a minute: 180 points).
CHART_SPAN = timedelta(hours=3)
CHART_STEP = timedelta(minutes=1)


def handle(command: Metrics, *, actor: str, ctx: Context) -> Reply:
    """The snapshot and the chart's series; `unavailable` when no Prometheus is configured."""
    if ctx.metrics is None:
        raise CommandError(
            ErrorCode.UNAVAILABLE,
            "no Prometheus is configured: set MESHGATE_PROMETHEUS_URL to the Prometheus that "
            "scrapes Istio",
        )
    snapshot = numbers.metrics_snapshot(ctx, service=command.service)
    if snapshot is None:
        raise CommandError(ErrorCode.UNAVAILABLE, f"Prometheus gave nothing for {command.service}")
    now = ctx.clock()
    history = ctx.metrics.history(
        target=Target(service=command.service),
        start=now - CHART_SPAN,
        end=now,
        step=CHART_STEP,
        window=timedelta(minutes=5),
    )
    stored = ctx.store.load(str(command.service))
    marks = [
        PhaseChangeMark(phase=done.phase, at=timestamp(done.at))
        for done in (stored.completed if stored is not None else ())
        if now - CHART_SPAN <= done.at <= now
    ]
    view = MetricsView(snapshot=snapshot, history=history, marks=marks)
    return Reply(command="metrics", ok=True, metrics=view)
