"""Metric gate items evaluated: snapshots (and a stored "before") in, pass/fail/unknown out.

Pure. `metric_results` answers every `metric:` item of a checklist, keyed by item id, for
workflows.gates.checklist.evaluate. The rules:

- no data and unavailable are `unknown`, never `pass`, with the reason and what to check;
- `min`/`max` are inclusive, `above` strict ("traffic is seen" is a rate above zero);
- `not_worse` compares with the "before" snapshot allowing the item's `margin`, in the
  direction that is worse for that metric (lower success rate, higher latency); the bounds
  apply as well, and when there is no "before" the bounds alone decide and the reason says so;
  with neither, the item is `unknown`;
- a failed item names the number, the threshold and what to fix (plaintext callers by name).

`custom_queries` renders the custom PromQL of a checklist for one service; the caller runs them
through MetricsSource.custom_values and passes the answers back in as `custom`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from workflows import promql_templates
from workflows.gates.metrics_snapshot import Caller, CustomAnswer, MetricsSnapshot, Reading
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem, Metric, MetricGate, format_duration

_LISTED = 5  # plaintext callers named in a reason before "and N more"

# The snapshot field behind each metric, how it reads, and which direction is worse.
_FIELD = {
    Metric.REQUEST_RATE: "request_rate",
    Metric.SUCCESS_RATE: "success_rate",
    Metric.LATENCY_P50_MS: "latency_ms.p50",
    Metric.LATENCY_P90_MS: "latency_ms.p90",
    Metric.LATENCY_P99_MS: "latency_ms.p99",
    Metric.MTLS_SHARE: "mtls_share",
    Metric.FORBIDDEN_RATE: "forbidden_rate",
    Metric.PLAINTEXT_CALLERS: "plaintext_callers",
    Metric.PASSTHROUGH_RATE: "passthrough_rate",
    Metric.BLACKHOLE_RATE: "blackhole_rate",
    Metric.SHADOW_DENIALS: "shadow_denials",
}
_LABEL = {
    Metric.REQUEST_RATE: "request rate",
    Metric.SUCCESS_RATE: "success rate",
    Metric.LATENCY_P50_MS: "p50 latency",
    Metric.LATENCY_P90_MS: "p90 latency",
    Metric.LATENCY_P99_MS: "p99 latency",
    Metric.MTLS_SHARE: "mTLS share",
    Metric.FORBIDDEN_RATE: "403 rate",
    Metric.PLAINTEXT_CALLERS: "plaintext callers",
    Metric.PASSTHROUGH_RATE: "PassthroughCluster rate",
    Metric.BLACKHOLE_RATE: "BlackHoleCluster rate",
    Metric.SHADOW_DENIALS: "shadow denial rate",
}
_HIGHER_IS_BETTER = frozenset({Metric.REQUEST_RATE, Metric.SUCCESS_RATE, Metric.MTLS_SHARE})
_SHARES = frozenset({Metric.SUCCESS_RATE, Metric.MTLS_SHARE})
_LATENCIES = frozenset({Metric.LATENCY_P50_MS, Metric.LATENCY_P90_MS, Metric.LATENCY_P99_MS})
_FIX = {
    Metric.REQUEST_RATE: "send traffic to the service (or wait for it), then check again",
    Metric.SUCCESS_RATE: "look at the service's 5xx responses and logs; roll back if the change "
    "caused them",
    Metric.MTLS_SHARE: "move the plaintext callers to mTLS (inject a sidecar into each), "
    "then check again",
    Metric.FORBIDDEN_RATE: "check which callers get 403s; add them to the allow-list or roll back",
    Metric.PLAINTEXT_CALLERS: "inject a sidecar into each caller (label its namespace "
    "istio-injection=enabled and restart it), or keep PERMISSIVE until they move",
    Metric.PASSTHROUGH_RATE: "declare each external host the service calls with a ServiceEntry",
    Metric.BLACKHOLE_RATE: "declare the blocked external hosts with ServiceEntries",
    Metric.SHADOW_DENIALS: "add the denied callers to the allow-list (run the dry-run phase "
    "again) or find out why they call",
}
_LATENCY_FIX = "look at the service's slow requests; roll back if the change caused them"
_NO_DATA_FIX = (
    "check that the service's pods have a ready istio-proxy sidecar, that Prometheus scrapes them, "
    "and that the service receives traffic"
)
_UNAVAILABLE_FIX = "check MESHGATE_PROMETHEUS_URL and that Prometheus answers, then retry"


def windows(items: Iterable[ChecklistItem]) -> set[timedelta]:
    """The windows the metric items need: read one snapshot per window."""
    return {i.metric.window for i in items if i.metric is not None and i.metric.query is None}


def custom_queries(*, items: Iterable[ChecklistItem], service: ServiceRef) -> dict[str, str]:
    """The rendered PromQL of each custom-query item, keyed by item id."""
    return {
        i.id: promql_templates.render(
            i.metric.query,
            namespace=service.namespace,
            service=service.name,
            window=format_duration(i.metric.window),
        )
        for i in items
        if i.metric is not None and i.metric.query is not None
    }


def metric_results(
    *,
    items: Sequence[ChecklistItem],
    current: Iterable[MetricsSnapshot],
    before: MetricsSnapshot | None = None,
    custom: Mapping[str, CustomAnswer] | None = None,
) -> dict[str, CheckResult]:
    """The verdict of every metric item, keyed by item id.

    `current` holds the service's snapshots (one per window the items need; none when no
    metrics source is configured); `before` the snapshot stored when the change was applied.
    """
    by_window = {s.window: s for s in current}
    answers = custom or {}
    results: dict[str, CheckResult] = {}
    for item in items:
        gate = item.metric
        if gate is None:
            continue
        if gate.query is not None:
            results[item.id] = _custom(gate, answers.get(item.id, "the query was not run"))
        elif gate.metric is not None:
            results[item.id] = _named(gate, gate.metric, by_window, before)
    return results


def _named(
    gate: MetricGate,
    metric: Metric,
    by_window: Mapping[str, MetricsSnapshot],
    before: MetricsSnapshot | None,
) -> CheckResult:
    span = format_duration(gate.window)
    if not by_window:
        return CheckResult(
            Verdict.UNKNOWN,
            reason="no metrics source: meshgate is not connected to Prometheus",
            fix="set MESHGATE_PROMETHEUS_URL (or --prometheus-url) to your Prometheus",
        )
    snapshot = by_window.get(span)
    if snapshot is None:
        return CheckResult(
            Verdict.UNKNOWN,
            reason=f"no snapshot over {span} was read (have {', '.join(sorted(by_window))})",
            fix="read the metrics over the item's window and check again",
        )
    field = _FIELD[metric]
    label = _LABEL[metric]
    reading = snapshot.reading(field)
    if reading is Reading.UNAVAILABLE:
        return CheckResult(
            Verdict.UNKNOWN,
            reason=f"{label}: metrics unavailable ({snapshot.unavailable[field]})",
            fix=_UNAVAILABLE_FIX,
        )
    if reading is Reading.NO_DATA:
        return CheckResult(
            Verdict.UNKNOWN,
            reason=f"{label}: no data for {snapshot.service} over {span}",
            fix=_NO_DATA_FIX,
        )
    raw = snapshot.value(field)
    callers: tuple[Caller, ...] = raw if metric is Metric.PLAINTEXT_CALLERS else ()
    value = float(len(callers)) if metric is Metric.PLAINTEXT_CALLERS else float(raw)
    shown = _show(metric, value, callers)
    fix = _fix(metric, snapshot)
    failures = _bound_failures(gate, metric, value)
    notes = []
    if gate.not_worse:
        previous = _before_value(before, field, metric)
        if previous is None:
            if not _has_bounds(gate):
                return CheckResult(
                    Verdict.UNKNOWN,
                    reason=f"{shown}; no 'before' snapshot to compare with and no floor",
                    fix="give the item a `min`/`max` for services with no 'before', or "
                    "record a snapshot before the change",
                )
            notes.append(
                f"no 'before' snapshot (Istio metrics appear only after injection): "
                f"checked against the floor {_bounds_text(gate, metric)} instead"
            )
        else:
            worse = _worse(metric, value, previous, gate.margin)
            compared = f"{_fmt(metric, previous)} before (margin {_fmt_delta(metric, gate.margin)})"
            if worse:
                failures.append(f"worse than {compared}")
            else:
                notes.append(f"not worse than {compared}")
    if failures:
        return CheckResult(
            Verdict.FAIL, reason="; ".join([f"{shown}: " + "; ".join(failures), *notes]), fix=fix
        )
    bounds = _bounds_text(gate, metric)
    passed = f"{shown} ({bounds})" if bounds and not notes else shown
    return CheckResult(Verdict.PASS, reason="; ".join([passed, *notes]))


def _custom(gate: MetricGate, answer: CustomAnswer) -> CheckResult:
    if isinstance(answer, str):
        return CheckResult(
            Verdict.UNKNOWN, reason=f"custom query unavailable: {answer}", fix=_UNAVAILABLE_FIX
        )
    if answer is None:
        return CheckResult(
            Verdict.UNKNOWN,
            reason="custom query: no data (no series, or NaN)",
            fix="check the query in Prometheus for this service and window",
        )
    failures = _bound_failures(gate, None, answer)
    shown = f"custom query = {answer:g}"
    if failures:
        return CheckResult(
            Verdict.FAIL,
            reason=f"{shown}: " + "; ".join(failures),
            fix="look at what the query measures for this service; the playbook sets the bound",
        )
    return CheckResult(Verdict.PASS, reason=f"{shown} ({_bounds_text(gate, None)})")


def _has_bounds(gate: MetricGate) -> bool:
    return gate.min is not None or gate.max is not None or gate.above is not None


def _bound_failures(gate: MetricGate, metric: Metric | None, value: float) -> list[str]:
    failures = []
    if gate.min is not None and value < gate.min:
        failures.append(f"below the minimum {_fmt(metric, gate.min)}")
    if gate.above is not None and value <= gate.above:
        failures.append(f"not above {_fmt(metric, gate.above)}")
    if gate.max is not None and value > gate.max:
        failures.append(f"more than the maximum: at most {_fmt(metric, gate.max)}")
    return failures


def _bounds_text(gate: MetricGate, metric: Metric | None) -> str:
    parts = []
    if gate.min is not None:
        parts.append(f"at least {_fmt(metric, gate.min)}")
    if gate.above is not None:
        parts.append(f"above {_fmt(metric, gate.above)}")
    if gate.max is not None:
        parts.append(f"at most {_fmt(metric, gate.max)}")
    return ", ".join(parts)


def _before_value(before: MetricsSnapshot | None, field: str, metric: Metric) -> float | None:
    if before is None or before.reading(field) is not Reading.VALUE:
        return None
    raw = before.value(field)
    return float(len(raw)) if metric is Metric.PLAINTEXT_CALLERS else float(raw)


def _worse(metric: Metric, value: float, previous: float, margin: float) -> bool:
    if metric in _HIGHER_IS_BETTER:
        return value < previous - margin
    return value > previous + margin


def _show(metric: Metric, value: float, callers: Sequence[Caller]) -> str:
    if metric is Metric.PLAINTEXT_CALLERS:
        if not callers:
            return "no plaintext callers"
        named = ", ".join(
            f"{c.namespace}/{c.workload} ({c.rate:.3g} req/s)" for c in callers[:_LISTED]
        )
        more = f" and {len(callers) - _LISTED} more" if len(callers) > _LISTED else ""
        return f"{len(callers)} plaintext callers: {named}{more}"
    return f"{_LABEL[metric]} {_fmt(metric, value)}"


def _fix(metric: Metric, snapshot: MetricsSnapshot) -> str:
    fix = _LATENCY_FIX if metric in _LATENCIES else _FIX[metric]
    callers = snapshot.plaintext_callers or ()
    if metric is Metric.MTLS_SHARE and callers:
        names = ", ".join(f"{c.namespace}/{c.workload}" for c in callers[:_LISTED])
        fix = f"{fix}: {names}"
    return fix


def _fmt(metric: Metric | None, value: float) -> str:
    if metric in _SHARES:
        return f"{value * 100:.1f} %"
    if metric in _LATENCIES:
        return f"{value:.4g} ms"
    if metric is Metric.PLAINTEXT_CALLERS or metric is None:
        return f"{value:g}"
    return f"{value:.4g} req/s"


def _fmt_delta(metric: Metric, value: float) -> str:
    return _fmt(metric, value)
