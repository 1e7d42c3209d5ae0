"""The PromQL meshgate asks of Istio's standard metrics, as data, and the snapshots built from them.

Kept apart from the Prometheus client (bot/metrics/prometheus.py), as Flagger keeps its Istio
observer apart from its provider: this module says WHAT to ask and how to read the answers;
the client says HOW to ask. Pure: `queries` renders the PromQL; `assemble` turns the answers
into one `MetricsSnapshot` per target.

Every query groups by destination, so checking N services costs `len(QUERIES)` queries, not N
times that. The queries follow Istio's own service dashboard
(reference/istio/dashboards/istio-service-dashboard.json) with three differences: `rate` over
the whole window instead of `irate` (a gate judges the window, not its last two samples),
server side only (`reporter="destination"`, as DESIGN.md defines rates), and grouped by
`destination_service_namespace`/`destination_service_name` instead of filtered to one service.

Two families carry no destination service label, so they are keyed by the pods' `app` label:
- PassthroughCluster/BlackHoleCluster requests are reported by the sender (`reporter="source"`,
  `destination_service_name` is the cluster's name), keyed by `source_workload_namespace` and
  `source_app`;
- shadow denials of a dry-run ALLOW policy are Envoy RBAC stats, named
  `envoy_http_<listener>_rbac_istio_dry_run_allow_shadow_denied` (Istio's dry-run task,
  istio.io/docs/tasks/security/authorization/authz-dry-run), keyed by the pod labels that
  Istio's Prometheus configuration copies onto the series (`namespace`, `app`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from workflows.gates.metrics_snapshot import (
    Caller,
    Latency,
    MetricsSnapshot,
    PrincipalCaller,
    Target,
)
from workflows.naming import ServiceRef

DEST_NS = "destination_service_namespace"
DEST_NAME = "destination_service_name"
_BY_DEST = f"{DEST_NS}, {DEST_NAME}"
PASSTHROUGH_CLUSTER = "PassthroughCluster"
BLACKHOLE_CLUSTER = "BlackHoleCluster"
SHADOW_DENIED = "envoy_http_inbound_.+_rbac_istio_dry_run_allow_shadow_denied"
# Istio reports `source_principal="unknown"` for a caller without an mTLS identity.
UNKNOWN_PRINCIPAL = "unknown"


class Query(StrEnum):
    """The queries of one batch; each answers one or two fields of every snapshot."""

    REQUEST_RATE = "request_rate"  # requests per second
    SUCCESS_RATE = "success_rate"  # non-5xx share of requests
    LATENCY_P50 = "latency_p50"  # histogram_quantile(0.50) in ms
    LATENCY_P90 = "latency_p90"  # histogram_quantile(0.90) in ms
    LATENCY_P99 = "latency_p99"  # histogram_quantile(0.99) in ms
    MTLS_SHARE = "mtls_share"  # share of requests with connection_security_policy=mutual_tls
    FORBIDDEN_RATE = "forbidden_rate"  # 403 responses per second
    PLAINTEXT_CALLERS = "plaintext_callers"  # callers without mTLS, by source workload
    CALLERS = "callers"  # callers by source_principal
    EGRESS = "egress"  # requests to PassthroughCluster / BlackHoleCluster, by sender app
    SHADOW_DENIALS = "shadow_denials"  # dry-run ALLOW policy denials per second


# Which snapshot fields each query fills (an unavailable query makes these unavailable).
FIELDS: Mapping[Query, tuple[str, ...]] = {
    Query.REQUEST_RATE: ("request_rate",),
    Query.SUCCESS_RATE: ("success_rate",),
    Query.LATENCY_P50: ("latency_ms.p50",),
    Query.LATENCY_P90: ("latency_ms.p90",),
    Query.LATENCY_P99: ("latency_ms.p99",),
    Query.MTLS_SHARE: ("mtls_share",),
    Query.FORBIDDEN_RATE: ("forbidden_rate",),
    Query.PLAINTEXT_CALLERS: ("plaintext_callers",),
    Query.CALLERS: ("callers",),
    Query.EGRESS: ("passthrough_rate", "blackhole_rate"),
    Query.SHADOW_DENIALS: ("shadow_denials",),
}


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: its labels and value (NaN allowed)."""

    labels: Mapping[str, str]
    value: float


QueryAnswer = Sequence[Sample] | str
"""The samples a query returned, or why it could not be answered (the `unavailable` reason)."""


def queries(*, targets: Iterable[Target], window: str) -> dict[Query, str]:
    """The PromQL of one batch for these targets over `window` (a PromQL duration, `30m`).

    Filtering by the targets' namespaces keeps the answer small; the number of queries does
    not depend on how many targets there are.
    """
    namespaces = sorted({t.service.namespace for t in targets})
    ns_re = "|".join(re.escape(ns) for ns in namespaces) or ".+"
    dest = f'reporter="destination", {DEST_NS}=~"{ns_re}"'

    def requests(extra: str = "", by: str = _BY_DEST) -> str:
        matchers = f"{dest}, {extra}" if extra else dest
        return f"sum by ({by}) (rate(istio_requests_total{{{matchers}}}[{window}]))"

    def quantile(q: str) -> str:
        buckets = f"rate(istio_request_duration_milliseconds_bucket{{{dest}}}[{window}])"
        return f"histogram_quantile({q}, sum by ({_BY_DEST}, le) ({buckets}))"

    total = requests()
    ok = requests(extra='response_code!~"5.*"')
    mtls = requests(extra='connection_security_policy="mutual_tls"')
    forbidden = requests(extra='response_code="403"')
    # `or 0 * total` gives 0, not nothing, for a service that had requests but none of this
    # kind, so the ratio and the 403 rate are numbers whenever the service saw traffic.
    return {
        Query.REQUEST_RATE: total,
        Query.SUCCESS_RATE: f"({ok} or 0 * {total}) / {total}",
        Query.LATENCY_P50: quantile("0.50"),
        Query.LATENCY_P90: quantile("0.90"),
        Query.LATENCY_P99: quantile("0.99"),
        Query.MTLS_SHARE: f"({mtls} or 0 * {total}) / {total}",
        Query.FORBIDDEN_RATE: f"{forbidden} or 0 * {total}",
        Query.PLAINTEXT_CALLERS: requests(
            extra='connection_security_policy!="mutual_tls"',
            by=f"{_BY_DEST}, source_workload_namespace, source_workload",
        )
        + " > 0",
        Query.CALLERS: requests(by=f"{_BY_DEST}, source_principal") + " > 0",
        Query.EGRESS: (
            "sum by (source_workload_namespace, source_app, destination_service_name) "
            f'(rate(istio_requests_total{{reporter="source", source_workload_namespace=~"{ns_re}", '
            f'destination_service_name=~"{PASSTHROUGH_CLUSTER}|{BLACKHOLE_CLUSTER}"}}[{window}]))'
        ),
        Query.SHADOW_DENIALS: (
            f'sum by (namespace, app) (rate({{__name__=~"{SHADOW_DENIED}", '
            f'namespace=~"{ns_re}"}}[{window}]))'
        ),
    }


def assemble(
    *,
    targets: Sequence[Target],
    at: datetime,
    window: str,
    answers: Mapping[Query, QueryAnswer],
) -> dict[ServiceRef, MetricsSnapshot]:
    """One snapshot per target from the answers of a batch; a missing answer is unavailable."""
    unavailable: dict[str, str] = {}
    rows: dict[Query, Sequence[Sample]] = {}
    for query in Query:
        answer = answers.get(query, "not asked")
        if isinstance(answer, str):
            unavailable.update(dict.fromkeys(FIELDS[query], answer))
            rows[query] = ()
        else:
            rows[query] = answer
    by_dest = {q: _index_by_destination(rows[q]) for q in Query}
    egress = _egress(rows[Query.EGRESS])
    shadow = {
        (s.labels.get("namespace", ""), s.labels.get("app", "")): s.value
        for s in rows[Query.SHADOW_DENIALS]
    }
    snapshots: dict[ServiceRef, MetricsSnapshot] = {}
    for target in targets:
        ref = target.service
        key = (ref.namespace, ref.name)

        def scalar(query: Query, key: tuple[str, str] = key) -> float | None:
            found = by_dest[query].get(key, ())
            return finite(sum(s.value for s in found)) if found else None

        seen = (scalar(Query.REQUEST_RATE) or 0.0) > 0  # requests prove the proxies report
        app_key = (ref.namespace, target.app_label)
        snapshots[ref] = MetricsSnapshot(
            service=str(ref),
            at=at,
            window=window,
            request_rate=scalar(Query.REQUEST_RATE),
            success_rate=scalar(Query.SUCCESS_RATE),
            latency_ms=Latency(
                p50=scalar(Query.LATENCY_P50),
                p90=scalar(Query.LATENCY_P90),
                p99=scalar(Query.LATENCY_P99),
            ),
            mtls_share=scalar(Query.MTLS_SHARE),
            forbidden_rate=scalar(Query.FORBIDDEN_RATE),
            plaintext_callers=_plaintext(by_dest[Query.PLAINTEXT_CALLERS].get(key, ()), seen),
            callers=_principals(by_dest[Query.CALLERS].get(key, ()), seen),
            passthrough_rate=_egress_rate(egress, app_key, PASSTHROUGH_CLUSTER, seen),
            blackhole_rate=_egress_rate(egress, app_key, BLACKHOLE_CLUSTER, seen),
            shadow_denials=finite(shadow[app_key]) if app_key in shadow else None,
            unavailable=dict(unavailable),
        )
    return snapshots


def _index_by_destination(samples: Iterable[Sample]) -> dict[tuple[str, str], list[Sample]]:
    index: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        key = (sample.labels.get(DEST_NS, ""), sample.labels.get(DEST_NAME, ""))
        index.setdefault(key, []).append(sample)
    return index


def finite(value: float) -> float | None:
    """NaN and infinities (0/0, a quantile of no buckets) are no data, not a number."""
    return value if math.isfinite(value) else None


def _plaintext(samples: Iterable[Sample], seen: bool) -> tuple[Caller, ...] | None:
    """Callers with a positive plaintext rate; empty when traffic was seen and all of it mTLS."""
    callers = sorted(
        (
            Caller(
                namespace=s.labels.get("source_workload_namespace", "unknown"),
                workload=s.labels.get("source_workload", "unknown"),
                rate=s.value,
            )
            for s in samples
            if finite(s.value)
        ),
        key=lambda c: (-c.rate, c.namespace, c.workload),
    )
    return tuple(callers) if callers or seen else None


def _principals(samples: Iterable[Sample], seen: bool) -> tuple[PrincipalCaller, ...] | None:
    callers = sorted(
        (
            PrincipalCaller(
                principal=s.labels.get("source_principal", UNKNOWN_PRINCIPAL), rate=s.value
            )
            for s in samples
            if finite(s.value)
        ),
        key=lambda c: c.principal,
    )
    return tuple(callers) if callers or seen else None


def _egress(samples: Iterable[Sample]) -> dict[tuple[str, str, str], float]:
    rates: dict[tuple[str, str, str], float] = {}
    for s in samples:
        key = (
            s.labels.get("source_workload_namespace", ""),
            s.labels.get("source_app", ""),
            s.labels.get("destination_service_name", ""),
        )
        if finite(s.value) is not None:
            rates[key] = rates.get(key, 0.0) + s.value
    return rates


def _egress_rate(
    rates: Mapping[tuple[str, str, str], float], app_key: tuple[str, str], cluster: str, seen: bool
) -> float | None:
    """The sender's rate to `cluster`; 0 when it has none but the service saw traffic.

    A service that sent nothing to PassthroughCluster has no such series at all, so "no series"
    is read as 0 only when the service's own traffic proves its proxy reports metrics.
    """
    found = rates.get((*app_key, cluster))
    if found is not None:
        return found
    return 0.0 if seen else None
