"""Istio queries as data: a fixed number per batch, and how answers become snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.gates import istio_queries
from workflows.gates.istio_queries import Query, Sample
from workflows.gates.metrics_snapshot import Reading, Target
from workflows.naming import ServiceRef

AT = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
QUIET = ServiceRef("shop", "quiet")


def dest(ns: str, name: str, **labels: str) -> dict[str, str]:
    return {"destination_service_namespace": ns, "destination_service_name": name, **labels}


def test_the_number_of_queries_does_not_depend_on_the_services() -> None:
    one = istio_queries.queries(targets=[Target(service=QUIET)], window="30m")
    many = istio_queries.queries(
        targets=[Target(service=ServiceRef(f"ns{i}", f"s{i}")) for i in range(500)], window="30m"
    )
    assert len(one) == len(many) == len(Query)
    assert 'destination_service_namespace=~"shop"' in one[Query.MTLS_SHARE]


def test_a_service_whose_series_exist_but_saw_no_requests_proves_nothing() -> None:
    answers: dict[Query, istio_queries.QueryAnswer] = {q: [] for q in Query}
    answers[Query.REQUEST_RATE] = [Sample(labels=dest("shop", "quiet"), value=0.0)]
    answers[Query.SUCCESS_RATE] = [Sample(labels=dest("shop", "quiet"), value=float("nan"))]
    snap = istio_queries.assemble(
        targets=[Target(service=QUIET)], at=AT, window="30m", answers=answers
    )[QUIET]
    assert snap.request_rate == 0.0
    assert snap.reading("success_rate") is Reading.NO_DATA  # 0/0 is not 100 %
    assert snap.reading("plaintext_callers") is Reading.NO_DATA  # no traffic: not "none"
    assert snap.reading("passthrough_rate") is Reading.NO_DATA


def test_a_failed_query_makes_only_its_fields_unavailable() -> None:
    answers: dict[Query, istio_queries.QueryAnswer] = {q: [] for q in Query}
    answers[Query.REQUEST_RATE] = [Sample(labels=dest("shop", "quiet"), value=2.0)]
    answers[Query.EGRESS] = "Prometheus at http://p answered HTTP 503"
    snap = istio_queries.assemble(
        targets=[Target(service=QUIET)], at=AT, window="30m", answers=answers
    )[QUIET]
    assert snap.request_rate == 2.0
    assert snap.unavailable == {
        "passthrough_rate": "Prometheus at http://p answered HTTP 503",
        "blackhole_rate": "Prometheus at http://p answered HTTP 503",
    }
    assert snap.plaintext_callers == ()
