"""Istio snapshots from a real Prometheus over series the test wrote (tests/support/prometheus.py).

Every expected number is computed from MESH, the rates the series were written from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.metrics.local_server import LocalPrometheus
from bot.metrics.prometheus import (
    PrometheusClient,
    PrometheusConfig,
    PrometheusRejected,
    PrometheusUnavailable,
)
from bot.metrics.source import PrometheusMetrics
from tests.support.prometheus import (
    AT,
    WINDOW,
    CannedServer,
    StallingServer,
    expected_mtls,
    expected_quantile,
    expected_rate,
    expected_success,
    self_signed,
)
from tests.support.redis_server import free_port
from workflows import playbook
from workflows.gates import istio_queries, metric_gates
from workflows.gates.metrics_snapshot import MetricsSnapshot, Reading, Target
from workflows.gates.verdicts import Verdict
from workflows.naming import ServiceRef
from workflows.playbook import ChecklistItem

CHECKOUT = ServiceRef("shop", "checkout")
PAYMENTS = ServiceRef("shop", "payments")
REVIEWS = ServiceRef("shop", "reviews")
GHOST = ServiceRef("shop", "ghost")


@pytest.fixture
def source(prometheus: LocalPrometheus) -> Iterator[PrometheusMetrics]:
    metrics = PrometheusMetrics.from_url(prometheus.url)
    yield metrics
    metrics.close()


def snapshot_of(source: PrometheusMetrics, ref: ServiceRef) -> MetricsSnapshot:
    return source.snapshots(targets=[Target(service=ref)], at=AT, window=WINDOW)[ref]


def test_checkout_numbers_match_the_series_written(source: PrometheusMetrics) -> None:
    snap = snapshot_of(source, CHECKOUT)
    assert snap.request_rate == pytest.approx(expected_rate("shop", "checkout"))
    assert snap.success_rate == pytest.approx(expected_success("shop", "checkout"))
    assert snap.mtls_share == pytest.approx(expected_mtls("shop", "checkout"))
    assert snap.forbidden_rate == pytest.approx(expected_rate("shop", "checkout", code="403"))
    for q, got in (
        (0.5, snap.latency_ms.p50),
        (0.9, snap.latency_ms.p90),
        (0.99, snap.latency_ms.p99),
    ):
        assert got == pytest.approx(expected_quantile(q, "shop", "checkout")), q
    assert snap.plaintext_callers is not None
    assert [(c.namespace, c.workload) for c in snap.plaintext_callers] == [
        ("legacy", "batch"),
        ("legacy", "cron"),
    ]
    assert [c.rate for c in snap.plaintext_callers] == pytest.approx([2.5, 0.4])
    assert snap.callers is not None
    assert {c.principal: round(c.rate, 6) for c in snap.callers} == {
        "spiffe://cluster.local/ns/shop/sa/frontend": 10.6,
        "unknown": 2.9,
    }
    assert snap.passthrough_rate == pytest.approx(0.2)
    assert snap.blackhole_rate == 0.0  # traffic seen, none to BlackHoleCluster
    assert snap.unavailable == {}


def test_a_fully_mtls_service_has_share_one_and_no_plaintext_callers(
    source: PrometheusMetrics,
) -> None:
    snap = snapshot_of(source, PAYMENTS)
    assert snap.mtls_share == pytest.approx(1.0)
    assert snap.plaintext_callers == ()
    assert snap.forbidden_rate == 0.0  # traffic seen, no 403: zero, not "no data"
    assert snap.blackhole_rate == pytest.approx(0.05)
    assert snap.shadow_denials == 0.0


def test_a_service_without_series_is_no_data_never_zero(source: PrometheusMetrics) -> None:
    snap = snapshot_of(source, GHOST)
    for field in (
        "request_rate",
        "success_rate",
        "mtls_share",
        "forbidden_rate",
        "plaintext_callers",
        "callers",
        "passthrough_rate",
        "latency_ms.p99",
        "shadow_denials",
    ):
        assert snap.reading(field) is Reading.NO_DATA, field
    data = snap.to_json()
    assert data["request_rate"] is None and data["latency_ms"] == {
        "p50": None,
        "p90": None,
        "p99": None,
    }


def test_many_services_cost_the_same_fixed_number_of_queries(source: PrometheusMetrics) -> None:
    one = source.snapshots(targets=[Target(service=CHECKOUT)], at=AT, window=WINDOW)
    sent_for_one = source.queries_sent
    many = [Target(service=r) for r in (CHECKOUT, PAYMENTS, REVIEWS, GHOST)]
    snaps = source.snapshots(targets=many, at=AT, window=WINDOW)
    assert source.queries_sent - sent_for_one == sent_for_one == len(istio_queries.Query)
    assert snaps[CHECKOUT] == one[CHECKOUT]
    assert snaps[REVIEWS].request_rate == pytest.approx(3.0)
    assert snaps[REVIEWS].shadow_denials == pytest.approx(0.3)


def test_metrics_json_is_the_design_shape(source: PrometheusMetrics) -> None:
    data = json.loads(json.dumps(snapshot_of(source, CHECKOUT).to_json()))
    assert data["schema"] == "meshgate.metrics/v1"
    assert data["service"] == "shop/checkout"
    assert data["at"] == "2026-11-25T10:30:00Z"
    assert data["window"] == "30m"
    assert data["plaintext_callers"][0] == {"namespace": "legacy", "workload": "batch", "rate": 2.5}
    assert "unavailable" not in data


def test_history_gives_one_point_per_step(source: PrometheusMetrics) -> None:
    start = AT - timedelta(minutes=10)
    history = source.history(
        target=Target(service=CHECKOUT),
        start=start,
        end=AT,
        step=timedelta(minutes=5),
        window=timedelta(minutes=5),
    )
    assert len(history.times) == 3
    assert history.request_rate == pytest.approx([expected_rate("shop", "checkout")] * 3)
    assert history.mtls_share == pytest.approx([expected_mtls("shop", "checkout")] * 3)
    assert history.latency_p99_ms == pytest.approx(
        [expected_quantile(0.99, "shop", "checkout")] * 3
    )


def test_custom_query_values(source: PrometheusMetrics) -> None:
    values = source.custom_values(
        queries={
            "one": 'sum(rate(istio_requests_total{destination_service_name="payments"}[30m]))',
            "none": 'sum(rate(istio_requests_total{destination_service_name="ghost"}[30m]))',
            "many": "sum by (destination_service_name) (rate(istio_requests_total[30m]))",
            "broken": "sum(rate(",
        },
        at=AT,
    )
    assert values["one"] == pytest.approx(6.0)
    assert values["none"] is None
    assert isinstance(values["many"], str) and "aggregate it" in values["many"]
    assert isinstance(values["broken"], str) and "rejected the query" in values["broken"]


def test_prometheus_down_makes_every_field_unavailable_not_no_data() -> None:
    source = PrometheusMetrics.from_url(f"http://127.0.0.1:{free_port()}", timeout=2)
    snap = snapshot_of(source, CHECKOUT)
    assert snap.reading("mtls_share") is Reading.UNAVAILABLE
    assert snap.reading("plaintext_callers") is Reading.UNAVAILABLE
    assert "cannot reach Prometheus at http://127.0.0.1:" in snap.unavailable["request_rate"]
    assert source.queries_sent == 1  # one refusal is enough to know it is down
    source.close()


def test_a_slow_prometheus_times_out_as_unavailable() -> None:
    with StallingServer() as slow:
        source = PrometheusMetrics.from_url(slow.url, timeout=0.3)
        snap = snapshot_of(source, CHECKOUT)
        assert slow.arrived.is_set()
        assert snap.unavailable["mtls_share"] == (
            f"Prometheus at {slow.url} did not answer within 0.3 s"
        )
        source.close()


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [
        (503, b"upstream connect error", PrometheusUnavailable, "answered HTTP 503"),
        (
            422,
            b'{"status":"error","errorType":"execution","error":"query timed out"}',
            PrometheusRejected,
            "execution: query timed out",
        ),
        (
            400,
            b'{"status":"error","errorType":"bad_data","error":"parse error"}',
            PrometheusRejected,
            "bad_data: parse error",
        ),
        (200, b"<html>login</html>", PrometheusUnavailable, "answered HTTP 200"),
        (401, b"Unauthorized", PrometheusUnavailable, "refused meshgate's credentials"),
    ],
    ids=["5xx", "422-execution", "400-bad-data", "not-json", "401"],
)
def test_error_answers_are_translated(
    status: int, body: bytes, error: type[Exception], says: str
) -> None:
    with CannedServer(status, body) as server:
        client = PrometheusClient(PrometheusConfig(url=server.url, timeout=2))
        with pytest.raises(error, match=says):
            client.instant("up", at=AT)
        client.close()
        source = PrometheusMetrics.from_url(server.url, timeout=2)
        snap = snapshot_of(source, CHECKOUT)
        assert snap.reading("request_rate") is Reading.UNAVAILABLE
        assert says in snap.unavailable["request_rate"]
        source.close()


def test_bearer_token_is_sent_and_never_shown() -> None:
    token = "s3cr3t-token-value"
    with CannedServer(403, b"Forbidden") as server:
        client = PrometheusClient(
            PrometheusConfig(url=server.url, bearer_token=SecretStr(token), timeout=2)
        )
        with pytest.raises(PrometheusUnavailable) as raised:
            client.instant("up", at=AT)
        assert server.authorization == [f"Bearer {token}"]
        assert token not in str(raised.value) and token not in repr(client)
        client.close()


def test_basic_auth_from_the_url_is_sent_and_stripped_from_messages() -> None:
    with CannedServer(500, b"boom") as server:
        url = server.url.replace("http://", "http://meshgate:hunter2@")
        client = PrometheusClient(PrometheusConfig(url=url, timeout=2))
        with pytest.raises(PrometheusUnavailable) as raised:
            client.instant("up", at=AT)
        assert server.authorization == ["Basic bWVzaGdhdGU6aHVudGVyMg=="]  # meshgate:hunter2
        assert "hunter2" not in str(raised.value) and "hunter2" not in repr(client)


UP = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}'


def test_tls_verifies_against_the_given_ca_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with CannedServer(200, UP, tls=(cert, key)) as server:
        trusted = PrometheusClient(PrometheusConfig(url=server.url, ca_file=str(cert), timeout=2))
        assert [s.value for s in trusted.instant("up", at=AT)] == [1.0]
        trusted.close()
        untrusted = PrometheusClient(PrometheusConfig(url=server.url, timeout=2))
        with pytest.raises(PrometheusUnavailable, match="cannot reach Prometheus at https://"):
            untrusted.instant("up", at=AT)
        untrusted.close()
        skipping = PrometheusClient(
            PrometheusConfig(url=server.url, insecure_skip_verify=True, timeout=2)
        )
        assert [s.value for s in skipping.instant("up", at=AT)] == [1.0]
        skipping.close()


def test_a_bad_url_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"http\(s\)://HOST"):
        PrometheusConfig(url="prometheus:9090")
    with pytest.raises(ValueError, match="positive"):
        PrometheusConfig(url="http://p:9090", timeout=0)


def strict_gate() -> list[ChecklistItem]:
    phase = next(p for p in playbook.default().phases if p.id == "strict")
    return [i for i in phase.gate if i.metric is not None]


@pytest.mark.parametrize(
    ("service", "verdicts", "says"),
    [
        (PAYMENTS, {"mtls-share": Verdict.PASS, "no-plaintext-callers": Verdict.PASS}, ""),
        (
            CHECKOUT,
            {"mtls-share": Verdict.FAIL, "no-plaintext-callers": Verdict.FAIL},
            "2 plaintext callers: legacy/batch (2.5 req/s), legacy/cron (0.4 req/s)",
        ),
        (
            GHOST,
            {"mtls-share": Verdict.UNKNOWN, "no-plaintext-callers": Verdict.UNKNOWN},
            "no data",
        ),
    ],
    ids=["passes", "fails-naming-callers", "cannot-decide"],
)
def test_the_default_strict_gate_on_real_numbers(
    source: PrometheusMetrics, service: ServiceRef, verdicts: dict[str, Verdict], says: str
) -> None:
    items = strict_gate()
    snaps = [snapshot_of(source, service)]
    results = metric_gates.metric_results(items=items, current=snaps)
    assert {k: r.verdict for k, r in results.items()} == verdicts
    assert says in results["no-plaintext-callers"].reason
    if service == CHECKOUT:
        share = f"{expected_mtls('shop', 'checkout') * 100:.1f} %"
        assert f"mTLS share {share}: below the minimum 99.9 %" in results["mtls-share"].reason
        assert "legacy/batch, legacy/cron" in results["mtls-share"].fix


def test_a_custom_query_item_on_real_numbers(source: PrometheusMetrics) -> None:
    item = ChecklistItem.model_validate(
        {
            "id": "errors",
            "title": "5xx rate",
            "metric": {
                "query": "sum(rate(istio_requests_total{"
                'destination_service_namespace="{namespace}", '
                'destination_service_name="{service}", response_code=~"5.."}[{window}]))',
                "max": 0.05,
            },
        }
    )
    rendered = metric_gates.custom_queries(items=[item], service=CHECKOUT)
    values = source.custom_values(queries=rendered, at=AT)
    result = metric_gates.metric_results(items=[item], current=[], custom=values)["errors"]
    assert result.verdict is Verdict.FAIL
    assert f"custom query = {expected_rate('shop', 'checkout', code='503'):g}" in result.reason
