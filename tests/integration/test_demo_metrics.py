"""The demo's numbers: a real Prometheus over generated series, gates that pass and fail on them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.metrics import demo
from bot.metrics.source import PrometheusMetrics
from workflows import playbook
from workflows.gates import metric_gates
from workflows.gates.metrics_snapshot import MetricsSnapshot, Target
from workflows.gates.verdicts import Verdict
from workflows.naming import ServiceRef

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusMetrics]:
    metrics = demo.start(work_dir=tmp_path_factory.mktemp("demo"), now=NOW)
    assert metrics.url is not None, metrics.message
    source = PrometheusMetrics.from_url(metrics.url)
    yield source
    source.close()
    metrics.stop()


def snapshots(
    source: PrometheusMetrics, name: str, items: list[playbook.ChecklistItem]
) -> list[MetricsSnapshot]:
    ref = ServiceRef("shop", name)
    return [
        source.snapshots(targets=[Target(service=ref)], at=NOW, window=window)[ref]
        for window in metric_gates.windows(items)
    ]


PHASES_WITH_METRIC_GATES = ("observe", "egress", "loadtest", "dns", "strict", "rbac")


def test_productpage_passes_every_metric_gate_through_strict_and_rbac_on_its_numbers(
    demo_source: PrometheusMetrics,
) -> None:
    book = playbook.default()
    for phase in book.phases:
        if phase.id not in PHASES_WITH_METRIC_GATES:
            continue
        items = [i for i in phase.gate if i.metric is not None]
        results = metric_gates.metric_results(
            items=items, current=snapshots(demo_source, "productpage", items)
        )
        assert {k: r.verdict for k, r in results.items()} == dict.fromkeys(results, Verdict.PASS), (
            phase.id,
            results,
        )


def test_details_fails_strict_naming_its_plaintext_caller(demo_source: PrometheusMetrics) -> None:
    strict = next(p for p in playbook.default().phases if p.id == "strict")
    items = [i for i in strict.gate if i.metric is not None]
    results = metric_gates.metric_results(
        items=items, current=snapshots(demo_source, "details", items)
    )
    assert results["no-plaintext-callers"].verdict is Verdict.FAIL
    assert "shop/inventory (0.5 req/s)" in results["no-plaintext-callers"].reason
    assert results["mtls-share"].verdict is Verdict.FAIL


def test_reviews_fails_egress_and_inventory_has_no_data(demo_source: PrometheusMetrics) -> None:
    egress = next(p for p in playbook.default().phases if p.id == "egress")
    items = [i for i in egress.gate if i.metric is not None]
    reviews = metric_gates.metric_results(
        items=items, current=snapshots(demo_source, "reviews", items)
    )
    assert reviews["no-passthrough"].verdict is Verdict.FAIL
    assert "0.3 req/s" in reviews["no-passthrough"].reason
    inventory = metric_gates.metric_results(
        items=items, current=snapshots(demo_source, "inventory", items)
    )
    assert inventory["no-passthrough"].verdict is Verdict.UNKNOWN


def test_without_prometheus_the_demo_says_metrics_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus, no promtool on this PATH
    metrics = demo.start(work_dir=tmp_path, now=NOW)
    assert metrics.url is None
    assert metrics.message.startswith("metrics off: prometheus and promtool not found")
    assert "apt-get install" in metrics.message
