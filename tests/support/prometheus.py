"""A real Prometheus over Istio series the tests write, and tiny servers that misbehave.

`MESH` describes the traffic of a small mesh as constant per-second rates; `openmetrics()`
writes it as counters sampled every 15 s from START to END, the session fixture turns that into
TSDB blocks with promtool and starts Debian's prometheus over them. Tests query at `AT` with a
30 m window and compute what they expect from `MESH` itself, never from Prometheus.

When prometheus or promtool is missing the fixture raises (PrometheusMissing): the tests fail,
they do not skip.

`StallingServer` accepts connections and answers nothing until released (a slow Prometheus);
`CannedServer` answers every request with one fixed status and body (errors, bad auth).
"""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.metrics.local_server import LocalPrometheus, OpenMetrics, build_blocks

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
AT = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
STEP = 15.0  # seconds between samples, Prometheus's default scrape interval
BASE = 1000.0  # counters start here, so rate() never extrapolates below zero

# Latency bucket bounds Istio uses for istio_request_duration_milliseconds (its default
# buckets, a subset: proxy/extensions/stats DEFAULT_BUCKETS); `+Inf` last.
BUCKETS = ("5", "10", "50", "100", "500", "+Inf")


@dataclass(frozen=True)
class Flow:
    """Requests per second from one caller to one service with one response code."""

    namespace: str
    service: str
    code: str
    rate: float
    caller_ns: str = "shop"
    caller: str = "frontend"
    mtls: bool = True

    @property
    def principal(self) -> str:
        sa = self.caller
        return f"spiffe://cluster.local/ns/{self.caller_ns}/sa/{sa}" if self.mtls else "unknown"


@dataclass(frozen=True)
class Mesh:
    """What the tests' mesh does, as constant rates (the source of every expected number)."""

    flows: tuple[Flow, ...]
    # cumulative requests per second at or below each bucket bound, by (namespace, service)
    latency: Mapping[tuple[str, str], Mapping[str, float]]
    # requests per second a service's pods send to PassthroughCluster / BlackHoleCluster
    egress: Mapping[tuple[str, str, str], float]
    # dry-run shadow denials per second, by (namespace, app)
    shadow: Mapping[tuple[str, str], float] = field(default_factory=dict)


MESH = Mesh(
    flows=(
        Flow("shop", "checkout", "200", 10.0),
        Flow("shop", "checkout", "503", 0.1),
        Flow("shop", "checkout", "403", 0.5),
        Flow("shop", "checkout", "200", 2.5, caller_ns="legacy", caller="batch", mtls=False),
        Flow("shop", "checkout", "200", 0.4, caller_ns="legacy", caller="cron", mtls=False),
        Flow("shop", "payments", "200", 5.0, caller="checkout"),
        Flow("shop", "payments", "200", 1.0, caller="frontend"),
        Flow("shop", "reviews", "200", 3.0, caller="productpage"),
        # another namespace: must not leak into shop's numbers
        Flow("other", "checkout", "500", 7.0, caller_ns="other", caller="x", mtls=False),
    ),
    latency={
        ("shop", "checkout"): {"5": 4.0, "10": 8.0, "50": 10.0, "100": 12.0, "500": 13.0},
        ("shop", "payments"): {"5": 1.0, "10": 5.0, "50": 5.5, "100": 6.0, "500": 6.0},
    },
    egress={
        ("shop", "checkout", "PassthroughCluster"): 0.2,
        ("shop", "payments", "BlackHoleCluster"): 0.05,
    },
    shadow={("shop", "reviews"): 0.3, ("shop", "payments"): 0.0},
)


def _times() -> list[float]:
    count = int((END - START).total_seconds() // STEP)
    return [START.timestamp() + i * STEP for i in range(count + 1)]


def _counter(rate: float) -> list[tuple[float, float]]:
    t0 = START.timestamp()
    return [(t, BASE + rate * (t - t0)) for t in _times()]


def openmetrics(mesh: Mesh = MESH) -> str:
    """The mesh's series as Istio's proxies would report them."""
    doc = OpenMetrics()
    requests = []
    for f in mesh.flows:
        labels = {
            "reporter": "destination",
            "destination_service_namespace": f.namespace,
            "destination_service_name": f.service,
            "destination_service": f"{f.service}.{f.namespace}.svc.cluster.local",
            "destination_workload": f"{f.service}-v1",
            "destination_workload_namespace": f.namespace,
            "source_workload": f.caller,
            "source_workload_namespace": f.caller_ns,
            "source_principal": f.principal,
            "response_code": f.code,
            "connection_security_policy": "mutual_tls" if f.mtls else "none",
        }
        requests.append((labels, _counter(f.rate)))
    for (ns, app, cluster), rate in mesh.egress.items():
        labels = {
            "reporter": "source",
            "source_workload_namespace": ns,
            "source_workload": f"{app}-v1",
            "source_app": app,
            "destination_service_name": cluster,
            "destination_service": cluster,
            "response_code": "200",
        }
        requests.append((labels, _counter(rate)))
    doc.counter("istio_requests", requests)
    histograms = []
    t0 = START.timestamp()
    for (ns, service), cumulative in mesh.latency.items():
        total = sum(f.rate for f in mesh.flows if (f.namespace, f.service) == (ns, service))
        rates = {**cumulative, "+Inf": total}
        labels = {
            "reporter": "destination",
            "destination_service_namespace": ns,
            "destination_service_name": service,
        }
        points = [(t, {le: BASE + r * (t - t0) for le, r in rates.items()}, 0.0) for t in _times()]
        histograms.append((labels, points))
    doc.histogram("istio_request_duration_milliseconds", histograms)
    for (ns, app), rate in mesh.shadow.items():
        name = "envoy_http_inbound_0_0_0_0_9080_rbac_istio_dry_run_allow_shadow_denied"
        doc.unknown(
            name,
            [({"namespace": ns, "app": app, "pod": f"{app}-v1-abc"}, _counter(rate))],
        )
    return doc.text()


# Expected values, computed from MESH (never read back from Prometheus).
def expected_rate(ns: str, service: str, *, code: str | None = None) -> float:
    return sum(
        f.rate
        for f in MESH.flows
        if (f.namespace, f.service) == (ns, service) and (code is None or f.code == code)
    )


def expected_success(ns: str, service: str) -> float:
    flows = [f for f in MESH.flows if (f.namespace, f.service) == (ns, service)]
    ok = sum(f.rate for f in flows if not f.code.startswith("5"))
    return ok / sum(f.rate for f in flows)


def expected_mtls(ns: str, service: str) -> float:
    flows = [f for f in MESH.flows if (f.namespace, f.service) == (ns, service)]
    return sum(f.rate for f in flows if f.mtls) / sum(f.rate for f in flows)


def expected_quantile(q: float, ns: str, service: str) -> float:
    """Prometheus's histogram_quantile, done by hand: linear within the bucket of rank q."""
    cumulative = dict(MESH.latency[(ns, service)])
    cumulative["+Inf"] = expected_rate(ns, service)
    rank = q * cumulative["+Inf"]
    lower, below = 0.0, 0.0
    for le in BUCKETS:
        count = cumulative[le]
        if count >= rank:
            if le == "+Inf":
                return lower  # the highest finite bound, as Prometheus answers
            upper = float(le)
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = float(le), count
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrometheus]:
    """A real Prometheus over MESH's series; fails (never skips) when it is not installed."""
    root = tmp_path_factory.mktemp("prometheus")
    build_blocks(openmetrics=openmetrics(), data_dir=root / "tsdb")
    server = LocalPrometheus(data_dir=root / "tsdb").start()
    yield server
    server.stop()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass


class StallingServer:
    """Accepts requests and answers none until `release()`: a Prometheus too slow to wait for."""

    def __init__(self) -> None:
        self.release_event = threading.Event()
        self.arrived = threading.Event()
        outer = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                outer.arrived.set()
                outer.release_event.wait(timeout=30)
                self.send_response(503)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StallingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class CannedServer:
    """Answers every GET with `status` and `body`; records the Authorization headers it saw."""

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        *,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.authorization: list[str | None] = []
        self.scheme = "https" if tls else "http"
        outer = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                outer.authorization.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> CannedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_blocks(mesh: Mesh, folder: Path) -> Path:
    """TSDB blocks of another mesh (for tests that need their own server)."""
    build_blocks(openmetrics=openmetrics(mesh), data_dir=folder / "tsdb")
    return folder / "tsdb"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl (the server's CA is itself)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
