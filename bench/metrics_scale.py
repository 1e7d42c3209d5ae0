"""Benchmark: queries and time to check the mTLS share of 2,000 services, next to 200, in one run.

Generates Istio series for 2,000 services in 200 namespaces (each service: one mTLS caller,
and every tenth a plaintext caller too; 1 h at 15 s), builds TSDB blocks with promtool and
starts a real Prometheus over them (bot/metrics/local_server.py). Then, for the first 200
services (20 namespaces) and for all 2,000:

- `mtls_share only`: the one grouped query of workflows.gates.istio_queries (Query.MTLS_SHARE)
  through the Prometheus client, and the strict gate's verdicts from it;
- `full snapshot`: every query of a snapshot batch (PrometheusMetrics.snapshots);
- baseline, 200 services only: one mTLS-share query per service (what a per-service client
  would do), to show what grouping by destination saves.

Prints queries sent, wall time (best of 3) and how many services got a number, per size, with
the large/small ratio. Run: .venv/bin/python bench/metrics_scale.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.metrics.local_server import LocalPrometheus, OpenMetrics, build_blocks  # noqa: E402
from bot.metrics.prometheus import PrometheusClient, PrometheusConfig  # noqa: E402
from bot.metrics.source import PrometheusMetrics  # noqa: E402
from workflows.gates import istio_queries, metric_gates  # noqa: E402
from workflows.gates.istio_queries import Query  # noqa: E402
from workflows.gates.metrics_snapshot import Target  # noqa: E402
from workflows.naming import ServiceRef  # noqa: E402
from workflows.playbook import default as default_playbook  # noqa: E402

SERVICES, NAMESPACES, SMALL = 2000, 200, 200
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AT = START + timedelta(hours=1)
WINDOW = "30m"
REPEATS = 3


def services() -> list[ServiceRef]:
    """Services spread evenly over namespaces; the first SMALL fill the first namespaces."""
    per_ns = SERVICES // NAMESPACES
    return [ServiceRef(f"ns{i // per_ns:03d}", f"svc{i:04d}") for i in range(SERVICES)]


def openmetrics(refs: list[ServiceRef]) -> str:
    times = [START.timestamp() + 15 * i for i in range(241)]
    series = []
    for i, ref in enumerate(refs):
        callers = [("client", True, 5.0)] + ([("legacy", False, 0.5)] if i % 10 == 0 else [])
        for caller, mtls, rate in callers:
            labels = {
                "reporter": "destination",
                "destination_service_namespace": ref.namespace,
                "destination_service_name": ref.name,
                "source_workload": caller,
                "source_workload_namespace": ref.namespace,
                "response_code": "200",
                "connection_security_policy": "mutual_tls" if mtls else "none",
            }
            series.append((labels, [(t, 1000 + rate * (t - times[0])) for t in times]))
    doc = OpenMetrics()
    doc.counter("istio_requests", series)
    return doc.text()


def best(run: Callable[[], int]) -> tuple[float, int]:
    """Best wall time of REPEATS runs and what the run returned."""
    timings, result = [], 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - began)
    return min(timings), result


def main() -> None:
    refs = services()
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        build_blocks(openmetrics=openmetrics(refs), data_dir=Path(tmp) / "tsdb")
        built = time.perf_counter() - began
        server = LocalPrometheus(data_dir=Path(tmp) / "tsdb").start()
        try:
            measure(server.url, refs, built)
        finally:
            server.stop()


def measure(url: str, refs: list[ServiceRef], built: float) -> None:
    client = PrometheusClient(PrometheusConfig(url=url, timeout=60))
    source = PrometheusMetrics(client)
    strict = next(p for p in default_playbook().phases if p.id == "strict")
    items = [i for i in strict.gate if i.metric is not None and i.id == "mtls-share"]
    rows: dict[str, dict[str, str]] = {}
    for label, subset in (("small", refs[:SMALL]), ("large", refs)):
        targets = [Target(service=r) for r in subset]
        promql = istio_queries.queries(targets=targets, window=WINDOW)[Query.MTLS_SHARE]

        def share_only(promql: str = promql, targets: list[Target] = targets) -> int:
            samples = client.instant(promql, at=AT)
            snaps = istio_queries.assemble(
                targets=targets, at=AT, window=WINDOW, answers={Query.MTLS_SHARE: samples}
            )
            verdicts = [
                metric_gates.metric_results(items=items, current=[s])["mtls-share"].verdict
                for s in snaps.values()
            ]
            return sum(1 for v in verdicts if v.value != "unknown")

        def full(targets: list[Target] = targets) -> int:
            snaps = source.snapshots(targets=targets, at=AT, window=timedelta(minutes=30))
            return sum(1 for s in snaps.values() if s.mtls_share is not None)

        share_time, decided = best(share_only)
        before = source.queries_sent
        full_time, with_share = best(full)
        full_queries = (source.queries_sent - before) // REPEATS
        rows[label] = {
            "services": f"{len(subset)}",
            "mtls_share only: queries": "1",
            "mtls_share only: seconds (best of 3)": f"{share_time:.3f}",
            "mtls_share only: services decided": f"{decided}",
            "full snapshot: queries": f"{full_queries}",
            "full snapshot: seconds (best of 3)": f"{full_time:.3f}",
            "full snapshot: services with a share": f"{with_share}",
        }
    per_service = [
        f'sum(rate(istio_requests_total{{reporter="destination", destination_service_namespace='
        f'"{r.namespace}", destination_service_name="{r.name}", '
        f'connection_security_policy="mutual_tls"}}[{WINDOW}]))'
        for r in refs[:SMALL]
    ]

    def one_by_one() -> int:
        return sum(len(client.instant(q, at=AT)) for q in per_service)

    baseline_time, answered = best(one_by_one)
    client.close()
    print(f"TSDB blocks for {len(refs)} services built in {built:.1f} s")
    print(f"{'':40}{'200 services':>14}{'2,000 services':>16}{'large/small':>13}")
    for key in rows["small"]:
        small, large = rows["small"][key], rows["large"][key]
        ratio = f"{float(large) / float(small):.2f}x" if float(small) else "-"
        print(f"{key:40}{small:>14}{large:>16}{ratio:>13}")
    print(
        f"baseline, one query per service, 200 services: {len(per_service)} queries, "
        f"{baseline_time:.3f} s (best of 3), {answered} answered"
    )


if __name__ == "__main__":
    main()
