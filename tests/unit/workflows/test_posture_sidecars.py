"""Sidecar state per workload, injection intent, and the assess-phase facts about pods and ports.

Injection rules follow Istio's injector webhooks (namespace label, revision label, pod label
or annotation `sidecar.istio.io/inject`); native sidecars are `istio-proxy` init containers
with restartPolicy Always (Kubernetes 1.29+, Istio ENABLE_NATIVE_SIDECARS).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh import posture, sidecars
from workflows.mesh.sidecars import Injection, SidecarState
from workflows.mesh.snapshot import RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")


def _assess(*objs: RawObject) -> Any:
    return posture.assess(snapshot=kubelet.snapshot_of(b.service("checkout"), *objs), service=SHOP)


STATES = [
    pytest.param(["ready", "ready"], SidecarState.INJECTED, id="all-ready"),
    pytest.param([None, None], SidecarState.MISSING, id="none"),
    pytest.param(["ready", None], SidecarState.PARTIAL, id="some-pods-without"),
    pytest.param(["ready", "not-ready"], SidecarState.PARTIAL, id="proxy-not-ready"),
]


@pytest.mark.parametrize(("proxies", "state"), STATES)
def test_sidecar_state(proxies: list[str | None], state: SidecarState) -> None:
    pods = [b.workload_pod("checkout", index=i, proxy=p) for i, p in enumerate(proxies)]
    result = _assess(b.injected_namespace("shop"), *pods)
    assert result.sidecar is state


def test_no_pods_is_unknown_not_missing() -> None:
    assert _assess(b.injected_namespace("shop")).sidecar is SidecarState.UNKNOWN


def test_pods_are_grouped_by_deployment_through_the_replicaset() -> None:
    pods = [
        b.workload_pod("checkout", version=v, index=i) for i, v in enumerate(("v1", "v1", "v2"))
    ]
    result = _assess(b.injected_namespace("shop"), *pods)
    assert [wp.workload.ref for wp in result.workloads] == [
        "Deployment shop/checkout-v1",
        "Deployment shop/checkout-v2",
    ]
    assert [len(wp.workload.pods) for wp in result.workloads] == [2, 1]


INTENT = [
    pytest.param({"istio-injection": "enabled"}, {}, {}, Injection.NAMESPACE, id="namespace-label"),
    pytest.param({"istio.io/rev": "1-30"}, {}, {}, Injection.REVISION, id="revision-label"),
    pytest.param({}, {"sidecar.istio.io/inject": "true"}, {}, Injection.POD, id="pod-label-opt-in"),
    pytest.param(
        {"istio-injection": "enabled"},
        {"sidecar.istio.io/inject": "false"},
        {},
        Injection.OPTED_OUT,
        id="pod-label-opt-out",
    ),
    pytest.param(
        {"istio-injection": "enabled"},
        {},
        {"sidecar.istio.io/inject": "false"},
        Injection.OPTED_OUT,
        id="annotation-opt-out",
    ),
    pytest.param(
        {"istio-injection": "disabled", "istio.io/rev": "1-30"},
        {"sidecar.istio.io/inject": "true"},
        {},
        Injection.NAMESPACE_DISABLED,
        id="namespace-disabled-wins",
    ),
    pytest.param({}, {}, {}, Injection.NOT_ENABLED, id="nothing"),
]


@pytest.mark.parametrize(("ns_labels", "pod_labels", "pod_annotations", "intent"), INTENT)
def test_injection_intent(
    ns_labels: dict[str, str],
    pod_labels: dict[str, str],
    pod_annotations: dict[str, str],
    intent: Injection,
) -> None:
    pod = b.workload_pod("checkout", labels=pod_labels, annotations=pod_annotations or None)
    assert sidecars.injection(namespace=b.namespace("shop", ns_labels), pod=pod) is intent


@pytest.mark.parametrize(
    ("ns_labels", "pod_labels", "code"),
    [
        pytest.param({"istio-injection": "enabled"}, {}, "MG301", id="enabled-but-pods-predate-it"),
        pytest.param({}, {}, "MG302", id="not-enabled"),
        pytest.param(
            {"istio-injection": "enabled"},
            {"sidecar.istio.io/inject": "false"},
            "MG304",
            id="opted-out",
        ),
    ],
)
def test_missing_sidecar_finding_says_why(
    ns_labels: dict[str, str], pod_labels: dict[str, str], code: str
) -> None:
    result = _assess(
        b.namespace("shop", ns_labels), b.workload_pod("checkout", proxy=None, labels=pod_labels)
    )
    codes = {f.code for f in result.findings if f.code.startswith("MG30")}
    assert codes == {code}


def test_proxy_not_ready_is_reported_with_the_pod() -> None:
    result = _assess(b.injected_namespace("shop"), b.workload_pod("checkout", proxy="not-ready"))
    (finding,) = [f for f in result.findings if f.code == "MG303"]
    assert f"checkout-v1-{kubelet.TEMPLATE_HASH}-p0" in finding.message


HYGIENE = [
    pytest.param({"run_as_user": 1337}, "MG306", id="uid-1337"),
    pytest.param({"host_network": True}, "MG307", id="host-network"),
    pytest.param({"phase": "Pending", "ready": False}, "MG308", id="pending"),
    pytest.param({"ready": False}, "MG308", id="not-ready"),
]


@pytest.mark.parametrize(("options", "code"), HYGIENE)
def test_pod_hygiene_findings(options: dict[str, Any], code: str) -> None:
    result = _assess(b.injected_namespace("shop"), b.workload_pod("checkout", **options))
    assert code in {f.code for f in result.findings}


def test_container_uid_1337_overrides_pod_uid() -> None:
    containers = [{"name": "app", "securityContext": {"runAsUser": 1337}}]
    result = _assess(
        b.injected_namespace("shop"), b.workload_pod("checkout", containers=containers)
    )
    (finding,) = [f for f in result.findings if f.code == "MG306"]
    assert "container app" in finding.message


@pytest.mark.parametrize(
    ("port", "named"),
    [
        pytest.param({"name": "http", "port": 80}, True, id="http"),
        pytest.param({"name": "grpc-web-api", "port": 80}, True, id="grpc-web-suffix"),
        pytest.param({"name": "tcp-db", "port": 5432}, True, id="tcp-suffix"),
        pytest.param({"name": "web", "port": 80}, False, id="no-protocol"),
        pytest.param({"name": "httpx", "port": 80}, False, id="prefix-needs-dash"),
        pytest.param({"port": 80}, False, id="unnamed"),
        pytest.param({"name": "web", "port": 80, "appProtocol": "http"}, True, id="app-protocol"),
    ],
)
def test_service_port_protocol(port: dict[str, Any], named: bool) -> None:
    svc = b.service("checkout", ports=[port])
    result = posture.assess(
        snapshot=kubelet.snapshot_of(svc, b.injected_namespace("shop"), b.workload_pod("checkout")),
        service=SHOP,
    )
    assert ("MG305" in {f.code for f in result.findings}) is not named
