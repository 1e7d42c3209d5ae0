"""Metric gate items: pass, fail (naming the number, the threshold and the fix), unknown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from workflows import playbook
from workflows.gates import metric_gates
from workflows.gates.metrics_snapshot import Caller, Latency, MetricsSnapshot
from workflows.gates.verdicts import Verdict
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem

AT = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def snap(**fields: Any) -> MetricsSnapshot:
    return MetricsSnapshot(service="shop/checkout", at=AT, window="30m", **fields)


HEALTHY = snap(
    request_rate=12.0,
    success_rate=0.995,
    latency_ms=Latency(p50=8.0, p90=40.0, p99=120.0),
    mtls_share=1.0,
    forbidden_rate=0.0,
    plaintext_callers=(),
    passthrough_rate=0.0,
    blackhole_rate=0.0,
    shadow_denials=0.0,
)
MIXED = snap(
    request_rate=13.0,
    success_rate=0.9,
    mtls_share=0.8,
    plaintext_callers=(
        Caller(namespace="legacy", workload="batch", rate=2.5),
        Caller(namespace="legacy", workload="cron", rate=0.1),
    ),
    passthrough_rate=0.2,
    shadow_denials=0.3,
)
QUIET = snap(request_rate=0.0, plaintext_callers=())
EMPTY = snap()
DOWN = snap(unavailable={"mtls_share": "cannot reach Prometheus at http://p:9090: ConnectError"})


def item(text: str) -> ChecklistItem:
    return ChecklistItem.model_validate({"id": "x", "title": "x", "metric": yaml.safe_load(text)})


P, F, U = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN
ROWS = [
    # (item, current, before, verdict, words in the reason, words in the fix)
    ("{metric: request_rate, above: 0}", HEALTHY, None, P, ["12"], []),
    ("{metric: request_rate, above: 0}", QUIET, None, F, ["0 req/s", "above 0"],
     ["traffic"]),
    ("{metric: request_rate, above: 0}", EMPTY, None, U, ["no data"], ["sidecar"]),
    ("{metric: mtls_share, min: 0.999}", HEALTHY, None, P, ["100.0 %"], []),
    ("{metric: mtls_share, min: 0.999}", MIXED, None, F, ["80.0 %", "99.9 %"],
     ["legacy/batch"]),
    ("{metric: mtls_share, min: 0.999}", DOWN, None, U, ["unavailable", "cannot reach"],
     ["Prometheus"]),
    ("{metric: plaintext_callers, max: 0}", HEALTHY, None, P, ["no plaintext"], []),
    ("{metric: plaintext_callers, max: 0}", MIXED, None, Verdict.FAIL,
     ["2 plaintext callers", "legacy/batch (2.5 req/s)", "legacy/cron (0.1 req/s)"], ["sidecar"]),
    ("{metric: plaintext_callers, max: 0}", EMPTY, None, U, ["no data"], []),
    ("{metric: passthrough_rate, max: 0}", MIXED, None, F, ["0.2 req/s", "at most 0"],
     ["ServiceEntry"]),
    ("{metric: shadow_denials, max: 0}", HEALTHY, None, P, ["0 req/s"], []),
    ("{metric: shadow_denials, max: 0}", MIXED, None, F, ["0.3"], ["allow-list"]),
    ("{metric: latency_p99_ms, min: 0}", HEALTHY, None, P, ["120 ms"], []),
    # not_worse against a stored "before", with the playbook's margin
    ("{metric: success_rate, not_worse: true, margin: 0.01}", HEALTHY, snap(success_rate=0.999),
     P, ["99.5 %", "99.9 % before", "margin 1.0 %"], []),
    ("{metric: success_rate, not_worse: true, margin: 0.01}", MIXED, snap(success_rate=0.999),
     F, ["90.0 %", "99.9 % before"], ["roll back"]),
    ("{metric: latency_p99_ms, not_worse: true, margin: 50}", HEALTHY,
     snap(latency_ms=Latency(p99=60.0)),
     F, ["120 ms", "60 ms before"], []),
    # no "before" (metrics appear only after injection): the floor decides, and says so
    ("{metric: success_rate, not_worse: true, margin: 0.01, min: 0.95}", HEALTHY, None,
     P, ["no 'before' snapshot", "floor", "95.0 %"], []),
    ("{metric: success_rate, not_worse: true, margin: 0.01, min: 0.95}", MIXED, None,
     F, ["no 'before' snapshot", "90.0 %", "95.0 %"], []),
    ("{metric: success_rate, not_worse: true}", HEALTHY, None, U, ["no 'before'"], []),
    # a floor holds even when a "before" exists
    ("{metric: success_rate, not_worse: true, margin: 0.2, min: 0.95}", MIXED,
     snap(success_rate=0.91),
     F, ["95.0 %"], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "current", "before", "verdict", "reason", "fix"),
    ROWS,
    ids=[f"{i}-{r[0][9:30]}-{r[3].value}" for i, r in enumerate(ROWS)],
)
def test_metric_items(
    text: str,
    current: MetricsSnapshot,
    before: MetricsSnapshot | None,
    verdict: Verdict,
    reason: list[str],
    fix: list[str],
) -> None:
    gate = item(text)
    result = metric_gates.metric_results(items=[gate], current=[current], before=before)["x"]
    assert result.verdict is verdict, result
    for words in reason:
        assert words in result.reason, result.reason
    for words in fix:
        assert words in result.fix, result.fix
    if verdict is Verdict.FAIL:
        assert result.fix


def test_no_metrics_source_is_unknown_not_pass() -> None:
    gate = item("{metric: mtls_share, min: 0.999}")
    result = metric_gates.metric_results(items=[gate], current=[])["x"]
    assert result.verdict is Verdict.UNKNOWN
    assert "no metrics" in result.reason and "MESHGATE_PROMETHEUS_URL" in result.fix


def test_a_snapshot_over_another_window_does_not_decide() -> None:
    gate = item("{metric: mtls_share, min: 0.999, window: 1h}")
    result = metric_gates.metric_results(items=[gate], current=[HEALTHY])["x"]
    assert result.verdict is Verdict.UNKNOWN and "1h" in result.reason


def test_windows_lists_what_to_read() -> None:
    items = [
        item("{metric: mtls_share, min: 0.999, window: 1h}"),
        item("{metric: request_rate, above: 0}"),
    ]
    assert metric_gates.windows(items) == {
        playbook.parse_duration("1h"),
        playbook.parse_duration("30m"),
    }


CUSTOM = item(
    '{query: \'sum(rate(errors{namespace="{namespace}", app="{service}"}[{window}]))\', max: 0.1}'
)


def test_custom_queries_are_rendered_with_the_service_and_window() -> None:
    rendered = metric_gates.custom_queries(items=[CUSTOM], service=ServiceRef("shop", "checkout"))
    assert rendered == {"x": 'sum(rate(errors{namespace="shop", app="checkout"}[30m]))'}


@pytest.mark.parametrize(
    ("answer", "verdict", "says"),
    [(0.05, P, "0.05"), (0.5, F, "at most 0.1"), (None, U, "no data"),
     ("Prometheus at http://p answered HTTP 503", U, "HTTP 503")],
    ids=["pass", "fail", "no-data", "unavailable"],
)  # fmt: skip
def test_custom_query_items(answer: float | str | None, verdict: Verdict, says: str) -> None:
    result = metric_gates.metric_results(items=[CUSTOM], current=[HEALTHY], custom={"x": answer})[
        "x"
    ]
    assert result.verdict is verdict and says in result.reason, result
