"""The audit on a live cluster that lacks a CRD: the kind is reported as not served."""

from __future__ import annotations

from bot.kube.live import LiveClusterReader
from tests.support import kube_fixtures
from tests.support.clusters import one_service_cluster
from workflows.audit import auditing as audit


def test_a_kind_the_cluster_does_not_serve_is_reported_not_fatal(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(one_service_cluster())
    api.drop("Certificate")  # no cert-manager in this cluster
    with LiveClusterReader.for_host(api.url) as reader:
        snapshot = reader.snapshot()
    report = audit.audit(snapshot=snapshot)
    data = report.to_data()
    assert data["unserved"] == ["Certificate"]
    (checkout,) = data["services"]
    assert checkout["service"] == "shop/checkout"
    assert checkout["mtls"]["mode"] == "PERMISSIVE"  # no PeerAuthentication: Istio's default
    assert not snapshot.errors
