"""Real numbers for the demo: Istio series for the demo mesh, served by a local Prometheus.

`start(work_dir=..., now=...)` writes the series below with timestamps around `now`, builds
TSDB blocks with promtool and starts Debian's prometheus on a free loopback port over them
(bot/metrics/local_server.py). Without prometheus installed it returns a `DemoMetrics` whose
`url` is None and whose `message` says metrics are off and how to turn them on; the demo goes
on without numbers (every metric item then reads `unknown`, as it should).

The traffic (namespace `shop`, Istio's Bookinfo plus `inventory`), chosen so the default
playbook's metric items show both outcomes for a reason a person can see:
- productpage: all mTLS from the ingress gateway, 0.25 % 5xx, no egress: every metric item of
  the default playbook passes on its numbers up to and including `strict` and `rbac`;
- details: one plaintext caller, shop/inventory, so `strict` fails naming it;
- reviews: calls an undeclared external host through PassthroughCluster, so `egress` fails;
- ratings: all mTLS from reviews-v2/v3;
- inventory: not injected, so it has no Istio series at all (`no data`).
Series run from 3 h before `now` to 6 h after it, so the numbers stay put while the demo runs.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.metrics.local_server import (
    LocalPrometheus,
    LocalServerError,
    OpenMetrics,
    PrometheusMissing,
    build_blocks,
)

NAMESPACE = "shop"
STEP = 15.0  # seconds between samples: Prometheus's default scrape interval
BEFORE = timedelta(hours=3)
AFTER = timedelta(hours=6)
INGRESS = ("istio-system", "istio-ingressgateway")


@dataclass(frozen=True)
class DemoFlow:
    """Requests per second from a caller to a demo service with one response code."""

    service: str
    caller: tuple[str, str]  # (namespace, workload)
    code: str
    rate: float
    mtls: bool = True


FLOWS = (
    DemoFlow("productpage", INGRESS, "200", 8.0),
    DemoFlow("productpage", INGRESS, "503", 0.02),
    DemoFlow("details", ("shop", "productpage-v1"), "200", 8.0),
    DemoFlow("details", ("shop", "inventory"), "200", 0.5, mtls=False),
    DemoFlow("reviews", ("shop", "productpage-v1"), "200", 7.9),
    DemoFlow("reviews", ("shop", "productpage-v1"), "500", 0.1),
    DemoFlow("ratings", ("shop", "reviews-v2"), "200", 2.6),
    DemoFlow("ratings", ("shop", "reviews-v3"), "200", 2.6),
)
# Cumulative share of requests at or below each latency bound (ms), per service.
LATENCY: Mapping[str, Mapping[str, float]] = {
    "productpage": {"5": 0.10, "10": 0.45, "25": 0.80, "50": 0.95, "100": 0.995, "250": 1.0},
    "details": {"5": 0.60, "10": 0.90, "25": 0.99, "50": 1.0, "100": 1.0, "250": 1.0},
    "reviews": {"5": 0.20, "10": 0.55, "25": 0.85, "50": 0.97, "100": 0.999, "250": 1.0},
    "ratings": {"5": 0.70, "10": 0.95, "25": 1.0, "50": 1.0, "100": 1.0, "250": 1.0},
}
EGRESS = {("reviews", "PassthroughCluster"): 0.3}
SHADOW = {"productpage": 0.0, "ratings": 0.0}  # dry-run allow-list denials (none)
SERVICE_ACCOUNTS = {
    "istio-ingressgateway": "istio-ingressgateway-service-account",
    "productpage-v1": "bookinfo-productpage",
    "reviews-v2": "bookinfo-reviews",
    "reviews-v3": "bookinfo-reviews",
}


@dataclass
class DemoMetrics:
    """The demo's Prometheus, or why there is none (`url` None: metrics off)."""

    url: str | None
    message: str
    server: LocalPrometheus | None = None

    def stop(self) -> None:
        """Stop the server, if one was started."""
        if self.server is not None:
            self.server.stop()
            self.server = None


def series(*, now: datetime) -> str:
    """The demo mesh's Istio series, as OpenMetrics text, around `now`."""
    start = (now - BEFORE).timestamp()
    count = int((BEFORE + AFTER).total_seconds() // STEP)
    times = [start + i * STEP for i in range(count + 1)]

    def counter(rate: float) -> list[tuple[float, float]]:
        return [(t, 1000.0 + rate * (t - start)) for t in times]

    doc = OpenMetrics()
    requests = []
    for flow in FLOWS:
        caller_ns, caller = flow.caller
        account = SERVICE_ACCOUNTS.get(caller, "default")
        labels = {
            "reporter": "destination",
            "destination_service_namespace": NAMESPACE,
            "destination_service_name": flow.service,
            "destination_service": f"{flow.service}.{NAMESPACE}.svc.cluster.local",
            "destination_workload": f"{flow.service}-v1",
            "destination_workload_namespace": NAMESPACE,
            "destination_app": flow.service,
            "source_workload": caller,
            "source_workload_namespace": caller_ns,
            "source_principal": (
                f"spiffe://cluster.local/ns/{caller_ns}/sa/{account}" if flow.mtls else "unknown"
            ),
            "response_code": flow.code,
            "connection_security_policy": "mutual_tls" if flow.mtls else "none",
        }
        requests.append((labels, counter(flow.rate)))
    for (app, cluster), rate in EGRESS.items():
        labels = {
            "reporter": "source",
            "source_workload_namespace": NAMESPACE,
            "source_workload": f"{app}-v1",
            "source_app": app,
            "destination_service_name": cluster,
            "destination_service": cluster,
            "response_code": "200",
        }
        requests.append((labels, counter(rate)))
    doc.counter("istio_requests", requests)
    histograms = []
    for service, shares in LATENCY.items():
        total = sum(f.rate for f in FLOWS if f.service == service)
        rates = {le: share * total for le, share in shares.items()} | {"+Inf": total}
        labels = {
            "reporter": "destination",
            "destination_service_namespace": NAMESPACE,
            "destination_service_name": service,
        }
        points = [
            (t, {le: 1000.0 + r * (t - start) for le, r in rates.items()}, 0.0) for t in times
        ]
        histograms.append((labels, points))
    doc.histogram("istio_request_duration_milliseconds", histograms)
    for app, rate in SHADOW.items():
        doc.unknown(
            "envoy_http_inbound_0_0_0_0_9080_rbac_istio_dry_run_allow_shadow_denied",
            [({"namespace": NAMESPACE, "app": app, "pod": f"{app}-v1-0"}, counter(rate))],
        )
    return doc.text()


def start(*, work_dir: Path, now: datetime) -> DemoMetrics:
    """Generate the series, build blocks and start Prometheus; metrics off if it cannot."""
    try:
        data_dir = work_dir / "demo-tsdb"
        shutil.rmtree(data_dir, ignore_errors=True)  # blocks of an earlier demo run
        build_blocks(openmetrics=series(now=now), data_dir=data_dir)
        server = LocalPrometheus(data_dir=data_dir).start()
    except (PrometheusMissing, LocalServerError, OSError) as e:
        return DemoMetrics(url=None, message=f"metrics off: {e}")
    return DemoMetrics(
        url=server.url,
        message=f"metrics on: a local Prometheus at {server.url} serves the demo mesh's numbers",
        server=server,
    )
