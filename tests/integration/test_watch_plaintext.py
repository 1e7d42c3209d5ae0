"""plaintext_traffic in the watch: plaintext callers of STRICT services, from a real Prometheus.

tests/support/prometheus.py's MESH: shop/checkout gets plaintext from legacy/batch (2.5 req/s)
and legacy/cron (0.4 req/s); shop/payments only mTLS. Each sender is its own cause, so one
sender hitting many STRICT services is one alert.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.metrics.local_server import LocalPrometheus
from bot.metrics.source import PrometheusMetrics
from tests.support.prometheus import AT, WINDOW
from tests.support.redis_server import free_port
from workflows.audit.report import RegressionKind
from workflows.gates.metrics_snapshot import Target
from workflows.naming import ServiceRef
from workflows.watch import plaintext

CHECKOUT = ServiceRef("shop", "checkout")
PAYMENTS = ServiceRef("shop", "payments")


@pytest.fixture
def source(prometheus: LocalPrometheus) -> Iterator[PrometheusMetrics]:
    found = PrometheusMetrics.from_url(prometheus.url)
    yield found
    found.close()


def test_each_plaintext_sender_to_a_strict_service_is_a_regression_with_its_rate(
    source: PrometheusMetrics,
) -> None:
    snapshots = source.snapshots(
        targets=[Target(service=CHECKOUT), Target(service=PAYMENTS)], at=AT, window=WINDOW
    )
    found, unread = plaintext.regressions(snapshots=snapshots)
    assert unread == ""
    assert {(r.kind, r.service, r.cause) for r in found} == {
        (RegressionKind.PLAINTEXT_TRAFFIC, "shop/checkout", "plaintext sender legacy/batch"),
        (RegressionKind.PLAINTEXT_TRAFFIC, "shop/checkout", "plaintext sender legacy/cron"),
    }  # payments is all mTLS: nothing
    batch = next(r for r in found if r.cause.endswith("legacy/batch"))
    assert batch.after == "2.5 req/s in plaintext from legacy/batch"


def test_numbers_that_cannot_be_read_are_a_problem_not_a_clean_bill() -> None:
    down = PrometheusMetrics.from_url(f"http://127.0.0.1:{free_port()}", timeout=2)
    snapshots = down.snapshots(targets=[Target(service=CHECKOUT)], at=AT, window=WINDOW)
    found, unread = plaintext.regressions(snapshots=snapshots)
    assert found == []
    assert "Prometheus, plaintext callers of shop/checkout" in unread
    down.close()
