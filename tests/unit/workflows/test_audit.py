"""The audit over Istio's sample applications and task policies: DESIGN.md's Audit JSON."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest

from bot.kube.manifests import ManifestReader
from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet, sample_mesh
from workflows.audit import auditing as audit
from workflows.mesh import index
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.naming import ServiceRef

SAMPLE_SERVICES = [
    "default/curl",
    "default/details",
    "default/httpbin",
    "default/productpage",
    "default/ratings",
    "default/reviews",
    "default/sleep",
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> ClusterSnapshot:
    folder = sample_mesh.write(tmp_path_factory.mktemp("samples"))
    return ManifestReader(folder).snapshot()


def test_report_has_exactly_the_designed_shape(snapshot: ClusterSnapshot) -> None:
    data = audit.audit(snapshot=snapshot).to_data()
    assert set(data) == {"schema", "services", "regressions"}
    assert data["schema"] == "meshgate.audit/v1"
    assert [s["service"] for s in data["services"]] == SAMPLE_SERVICES
    for service in data["services"]:
        assert set(service) == {"service", "sidecar", "mtls", "authz", "findings"}
        assert set(service["mtls"]) == {"mode", "ports"}
        assert set(service["authz"]) == {"default", "allow_all", "policies"}
        for finding in service["findings"]:
            assert set(finding) == {"code", "severity", "message", "objects", "fix"}
    assert json.loads(json.dumps(data)) == data


def test_productpage_under_strict_and_the_authz_http_task(snapshot: ClusterSnapshot) -> None:
    report = audit.audit(snapshot=snapshot, services=[ServiceRef("default", "productpage")])
    assert report.to_data()["services"] == [
        {
            "service": "default/productpage",
            "sidecar": "injected",
            "mtls": {"mode": "STRICT", "ports": {"9080": "STRICT"}},
            "authz": {
                "default": "deny",
                "allow_all": False,
                "policies": ["default/allow-nothing", "default/productpage-viewer"],
            },
            "findings": [
                {
                    "code": "MG411",
                    "severity": "info",
                    "message": "Gateway default/bookinfo-gateway serves * without TLS (plain "
                    "HTTP): no certificate protects it",
                    "objects": ["Gateway default/bookinfo-gateway"],
                    "fix": "add an HTTPS server for * with tls.credentialName (a cert-manager "
                    "Certificate's secretName), and httpsRedirect on the HTTP one",
                }
            ],
        }
    ]


@pytest.mark.parametrize(
    ("service", "policies", "codes"),
    [
        pytest.param("default/httpbin", ["default/allow-nothing"], ["MG411"], id="httpbin"),
        pytest.param(
            "default/reviews", ["default/allow-nothing", "default/reviews-viewer"], [], id="reviews"
        ),
        # Istio's all-mTLS rules declare subsets for versions bookinfo.yaml does not deploy;
        # no route uses them, so they are harmless (Istio's checkDestinationSubset agrees).
        pytest.param(
            "default/ratings",
            ["default/allow-nothing", "default/ratings-viewer"],
            [],
            id="ratings-unused-subsets-without-pods",
        ),
        pytest.param(
            "default/details",
            ["default/allow-nothing", "default/details-viewer"],
            [],
            id="details-unused-subset-v2-without-pods",
        ),
    ],
)
def test_sample_services(
    snapshot: ClusterSnapshot, service: str, policies: list[str], codes: list[str]
) -> None:
    entry = audit.audit(snapshot=snapshot).service(service)
    assert entry is not None
    assert entry.sidecar.value == "injected"
    assert entry.mtls.mode.value == "STRICT"
    assert entry.authz.default.value == "deny"
    assert entry.authz.policies == policies
    assert [f.code for f in entry.findings] == codes


def test_samples_without_pods_are_unknown_not_pass(tmp_path: Path) -> None:
    snapshot = ManifestReader(sample_mesh.SAMPLES).snapshot()
    report = audit.audit(snapshot=snapshot)
    assert {s.mtls.mode.value for s in report.services} == {"UNKNOWN"}
    assert {s.sidecar.value for s in report.services} == {"unknown"}
    assert {s.authz.default.value for s in report.services} == {"unknown"}
    assert all("MG003" in [f.code for f in s.findings] for s in report.services)


def test_uninjected_samples_are_missing_and_plaintext(tmp_path: Path) -> None:
    folder = sample_mesh.write(tmp_path, injected=False, tasks=())
    report = audit.audit(snapshot=ManifestReader(folder).snapshot())
    assert {s.sidecar.value for s in report.services} == {"missing"}
    assert {s.mtls.mode.value for s in report.services} == {"DISABLE"}
    assert {s.authz.default.value for s in report.services} == {"allow"}


def test_default_services_skip_control_plane_and_selectorless() -> None:
    snapshot = kubelet.snapshot_of(
        b.service("checkout", "shop"),
        b.service("istiod", "istio-system"),
        b.service("kube-dns", "kube-system"),
        b.service("kubernetes", "default", selector={}),
    )
    assert audit.default_services(snapshot) == [ServiceRef("shop", "checkout")]
    explicit = audit.audit(snapshot=snapshot, services=[ServiceRef("default", "kubernetes")])
    assert [s.service for s in explicit.services] == ["default/kubernetes"]


def test_missing_service_is_reported_not_skipped() -> None:
    report = audit.audit(
        snapshot=kubelet.snapshot_of(b.service("checkout", "shop")),
        services=[ServiceRef("shop", "nope")],
    )
    (entry,) = report.services
    assert entry.mtls.mode.value == "UNKNOWN"
    assert [f.code for f in entry.findings] == ["MG002"]


def test_read_error_is_a_finding_and_unknown(snapshot: ClusterSnapshot) -> None:
    broken = ClusterSnapshot(
        objects=snapshot.objects,
        errors={Kind.AUTHORIZATION_POLICY: "403 forbidden"},
        istio_namespace=snapshot.istio_namespace,
    )
    entry = audit.audit(snapshot=broken).service("default/productpage")
    assert entry is not None
    assert entry.authz.default.value == "unknown"
    assert entry.mtls.mode.value == "STRICT"  # mTLS does not need AuthorizationPolicies
    (error,) = [f for f in entry.findings if f.code == "MG001"]
    assert "AuthorizationPolicy: 403 forbidden" in error.message


def test_lookups_do_not_keep_old_snapshots_alive() -> None:
    # The watcher audits a fresh snapshot every sweep; a cache holding old ones would leak.
    snapshot = kubelet.snapshot_of(b.service("checkout", "shop"), b.workload_pod("checkout"))
    assert audit.audit(snapshot=snapshot).services[0].sidecar.value == "injected"
    alive, key = weakref.ref(snapshot), id(snapshot)
    assert key in index._INDEXES
    del snapshot
    gc.collect()
    assert alive() is None
    assert key not in index._INDEXES
