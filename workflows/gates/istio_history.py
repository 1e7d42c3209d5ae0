"""History of one service for charts: the range-query answers of four Istio queries, assembled.

Pure, like workflows.gates.istio_queries whose PromQL it reuses: the chart's four series are
request rate, success rate, p99 latency and mTLS share, one value (or None) per step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from workflows.gates.istio_queries import DEST_NAME, DEST_NS, Query, finite
from workflows.gates.metrics_snapshot import MetricsHistory, Target


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (time, value) points, NaN kept."""

    labels: Mapping[str, str]
    points: tuple[tuple[datetime, float], ...]


# The four series a chart shows, by the query that gives each.
HISTORY: Mapping[Query, str] = {
    Query.REQUEST_RATE: "request_rate",
    Query.SUCCESS_RATE: "success_rate",
    Query.LATENCY_P99: "latency_p99_ms",
    Query.MTLS_SHARE: "mtls_share",
}


def assemble_history(
    *,
    target: Target,
    times: Sequence[datetime],
    answers: Mapping[Query, Sequence[Series] | str],
) -> MetricsHistory:
    """The chart's four series of one target, one value (or None) per time in `times`."""
    key = (target.service.namespace, target.service.name)
    columns: dict[str, tuple[float | None, ...]] = {}
    unavailable: dict[str, str] = {}
    for query, name in HISTORY.items():
        answer = answers.get(query, "not asked")
        values: dict[datetime, float] = {}
        if isinstance(answer, str):
            unavailable[name] = answer
        else:
            for series in answer:
                if (series.labels.get(DEST_NS), series.labels.get(DEST_NAME)) == key:
                    for moment, value in series.points:
                        values[moment] = values.get(moment, 0.0) + value
        columns[name] = tuple(_maybe(values.get(moment)) for moment in times)
    return MetricsHistory(
        service=str(target.service),
        times=tuple(times),
        request_rate=columns["request_rate"],
        success_rate=columns["success_rate"],
        latency_p99_ms=columns["latency_p99_ms"],
        mtls_share=columns["mtls_share"],
        unavailable=unavailable,
    )


def _maybe(value: float | None) -> float | None:
    return None if value is None else finite(value)
