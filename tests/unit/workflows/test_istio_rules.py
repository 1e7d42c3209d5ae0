"""Audit rules against Istio's own code (issue 10), one table per rule; rows cite their source.

Rows marked "Istio:" are our cases written from Istio's test tables (istio/istio at the commit
docs/findings.md names); the rest probe the same function's branches.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh import posture, sidecars
from workflows.mesh.snapshot import RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
NS = b.injected_namespace("shop")
POD = b.workload_pod("checkout")


def assess(*objs: RawObject) -> posture.ServicePosture:
    return posture.assess(snapshot=kubelet.snapshot_of(*objs), service=SHOP)


def codes(result: posture.ServicePosture) -> list[str]:
    return [f.code for f in result.findings]


# ConvertProtocol (pkg/config/kube/conversion.go) as the port-name analyzer uses it
# (pkg/config/analysis/analyzers/service/portname.go): MG305 when the protocol is unsupported.
PORTS = [
    pytest.param({}, True, id="Istio: resolves empty"),
    pytest.param({"protocol": "UDP"}, False, id="Istio: resolves from protocol directly"),
    pytest.param({"name": "http-something"}, False, id="Istio: resolves from port name"),
    pytest.param(
        {"name": "http-something", "appProtocol": "https"}, False, id="Istio: prefers appProto"
    ),
    pytest.param(
        {"name": "something-httpx", "appProtocol": "https"}, False, id="Istio: from appProto"
    ),
    pytest.param({"name": "grpc-web-x"}, False, id="Istio: resolves grpc-web"),
    pytest.param({"name": "grpcweb-x"}, True, id="Istio: grpc-web not resolved incorrectly"),
    pytest.param({"name": "random-name", "port": 3306}, False, id="Istio: known ports"),
    pytest.param(
        {"name": "random-name", "appProtocol": "kubernetes.io/h2c"},
        False,
        id="Istio: standard app protocol",
    ),
    pytest.param(
        {"name": "http", "appProtocol": "foo"}, True, id="unknown appProtocol wins over the name"
    ),
    pytest.param({"name": "HTTP-web"}, False, id="case-insensitive"),
    pytest.param({"name": "dns", "protocol": "UDP", "port": 5353}, False, id="udp-any-name"),
    pytest.param({"name": "smtp", "port": 25}, False, id="well-known-25"),
]


@pytest.mark.parametrize(("port", "flagged"), PORTS)
def test_port_protocol_like_convert_protocol(port: dict[str, Any], flagged: bool) -> None:
    svc = b.service("checkout", ports=[{"port": 80, "targetPort": 8080, **port}])
    assert ("MG305" in codes(assess(NS, svc, POD))) is flagged


def test_the_port_name_analyzer_skips_istios_own_services() -> None:
    svc = b.service("checkout", ports=[{"name": "web", "port": 80, "targetPort": 8080}])
    svc["metadata"]["labels"] = {"istio": "ingressgateway"}
    assert "MG305" not in codes(assess(NS, svc, POD))


def ns(labels: dict[str, str], name: str = "shop") -> RawObject:
    return b.namespace(name, labels)


def pod(labels: dict[str, str] | None = None, notes: dict[str, str] | None = None,
        namespace: str = "shop", **options: Any) -> RawObject:  # fmt: skip
    return b.workload_pod("checkout", namespace, proxy=None, labels=labels or {},
                          annotations=notes or {}, **options)  # fmt: skip


ENABLED = {"istio-injection": "enabled"}
INJECT = "sidecar.istio.io/inject"
# The webhook selectors (manifests/charts/istio-control/istio-discovery/templates/
# mutatingwebhook.yaml), then injectRequired (pkg/kube/inject/inject.go; its table is
# TestInjectRequired in pkg/kube/inject/webhook_test.go, with the default policy "enabled").
INJECTION = [
    pytest.param(ENABLED, pod(), "namespace", id="Istio: enabled, no annotation"),
    pytest.param(ENABLED, pod(notes={INJECT: "true"}), "namespace", id="Istio: annotation true"),
    pytest.param(ENABLED, pod(notes={INJECT: "false"}), "opted-out", id="Istio: annotation false"),
    pytest.param(
        ENABLED,
        pod(notes={INJECT: "yes"}),
        "namespace",
        id="Istio: invalid annotation falls back to policy",
    ),
    pytest.param(
        ENABLED,
        pod(labels={INJECT: "random"}),
        "namespace",
        id="Istio: invalid label falls back to policy",
    ),
    pytest.param(
        ENABLED,
        pod(host_network=True),
        "host-network",
        id="Istio: hostNetwork never injected",
    ),
    pytest.param(
        ENABLED,
        pod(labels={INJECT: "true"}, notes={INJECT: "false"}),
        "namespace",
        id="label wins over annotation",
    ),
    pytest.param(ENABLED, pod(labels={INJECT: "False"}), "namespace", id="values match exactly"),
    pytest.param(ENABLED, pod(labels={INJECT: "false"}), "opted-out", id="label false: no webhook"),
    pytest.param({}, pod(labels={"istio.io/rev": "canary"}), "revision", id="rev.object webhook"),
    pytest.param(
        {},
        pod(labels={INJECT: "true", "istio.io/rev": "canary"}),
        "revision",
        id="pod revision over object webhook",
    ),
    pytest.param({}, pod(labels={INJECT: "true"}), "pod", id="object webhook"),
    pytest.param(
        {},
        pod(notes={INJECT: "true"}),
        "not-enabled",
        id="annotation alone selects no webhook",
    ),
    pytest.param({"istio.io/rev": "canary"}, pod(), "revision", id="rev.namespace webhook"),
    pytest.param(
        {"istio.io/rev": "canary", "istio-injection": "disabled"},
        pod(),
        "namespace-disabled",
        id="istio-injection beats rev",
    ),
    pytest.param(
        {"istio-injection": "disabled"},
        pod(labels={INJECT: "true"}),
        "namespace-disabled",
        id="disabled namespace",
    ),
    pytest.param(
        {"istio-injection": "Enabled"},
        pod(),
        "namespace-disabled",
        id="namespace value matches exactly",
    ),
    pytest.param({"istio.io/dataplane-mode": "ambient"}, pod(), "ambient", id="ambient namespace"),
]


@pytest.mark.parametrize(("ns_labels", "raw_pod", "expected"), INJECTION)
def test_injection_like_the_webhook(
    ns_labels: dict[str, str], raw_pod: RawObject, expected: str
) -> None:
    assert sidecars.injection(namespace=ns(ns_labels), pod=raw_pod) == expected


def test_ignored_namespaces_are_never_injected() -> None:
    # IgnoredNamespaces (pkg/kube/inject/initializer.go), whatever the labels say.
    raw = pod(namespace="kube-system")
    got = sidecars.injection(namespace=ns(ENABLED, name="kube-system"), pod=raw)
    assert got == "ignored-namespace"


def test_a_host_network_pod_is_not_reported_as_waiting_for_a_restart() -> None:
    result = assess(NS, b.service("checkout"), pod(host_network=True))
    assert "MG301" not in codes(result)
    assert "MG302" in codes(result)


def test_ambient_mode_is_a_finding_not_a_silent_disable() -> None:
    result = assess(ns({"istio.io/dataplane-mode": "ambient"}), b.service("checkout"), pod())
    assert "MG309" in codes(result)
    assert result.mtls_mode.value == "UNKNOWN"


# rootNamespace from the mesh config (pkg/config/mesh/mesh.go, DefaultMeshConfig: istiod's
# namespace when unset).
ROOT = [
    pytest.param([], "PERMISSIVE", id="no-policy"),
    pytest.param(
        [b.peer_authentication("default", "istio-system", "STRICT")], "STRICT", id="default-root"
    ),
    pytest.param(
        [b.mesh_config(root="mesh-root"), b.peer_authentication("default", "mesh-root", "STRICT")],
        "STRICT",
        id="configured-root",
    ),
    pytest.param(
        [
            b.mesh_config(root="mesh-root"),
            b.peer_authentication("default", "istio-system", "STRICT"),
        ],
        "PERMISSIVE",
        id="istio-system-is-not-root",
    ),
]


@pytest.mark.parametrize(("objs", "mode"), ROOT)
def test_root_namespace_from_the_mesh_config(objs: list[RawObject], mode: str) -> None:
    assert assess(NS, b.service("checkout"), POD, *objs).mtls_mode.value == mode


def test_mesh_wide_authorization_in_the_configured_root() -> None:
    deny_all = b.authorization_policy("allow-nothing", "mesh-root", spec={})
    result = assess(NS, b.service("checkout"), POD, b.mesh_config(root="mesh-root"), deny_all)
    assert result.policies == ("mesh-root/allow-nothing",)
    assert result.authz_default.value == "deny"


STRICT = b.peer_authentication("default", "istio-system", "STRICT")
# istio-iptables, handleInboundPortsInclude (tools/istio-iptables/pkg/capture/run.go).
CAPTURE = [
    pytest.param({}, "STRICT", id="captured"),
    pytest.param(
        {"traffic.sidecar.istio.io/excludeInboundPorts": "8080"}, "DISABLE", id="excluded"
    ),
    pytest.param(
        {"traffic.sidecar.istio.io/includeInboundPorts": "9090"}, "DISABLE", id="not-included"
    ),
    pytest.param(
        {"traffic.sidecar.istio.io/includeInboundPorts": "8080,9090"}, "STRICT", id="included"
    ),
    pytest.param(
        {"traffic.sidecar.istio.io/includeInboundPorts": ""}, "DISABLE", id="include-none"
    ),
]


@pytest.mark.parametrize(("notes", "mode"), CAPTURE)
def test_uncaptured_ports_take_plaintext(notes: dict[str, str], mode: str) -> None:
    raw = b.workload_pod("checkout", annotations=notes)
    assert assess(NS, b.service("checkout"), raw, STRICT).mtls_ports == {8080: mode}


def test_a_named_target_port_resolves_per_pod() -> None:
    # Mid-rollout: the new template names `http` on 9090, the old one on 8080.
    svc = b.service("checkout", ports=[{"name": "http", "port": 80, "targetPort": "http"}])
    app = {"name": "app", "image": "app:2", "ports": [{"name": "http", "containerPort": 9090}]}
    new = b.workload_pod("checkout", index=1, containers=[app])
    result = assess(NS, svc, POD, new, STRICT)
    assert set(result.mtls_ports) == {8080, 9090}
