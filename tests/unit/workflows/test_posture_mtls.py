"""Effective mTLS per workload and port, with Istio's PeerAuthentication rules and tasks.

Sources of the expected outcomes: istio/istio pilot/pkg/model/authentication.go
(ComposePeerAuthentication), istio.io concepts/security "Peer authentication", and the task
"Mutual TLS Migration" (reference/istio/tasks/mtls-migration.yaml).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh import posture
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.snapshot import Kind, RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
TWO_PORTS = [
    {"name": "http", "port": 80, "targetPort": 8080},
    {"name": "grpc-admin", "port": 90, "targetPort": "admin"},
]
CONTAINERS = [
    {
        "name": "app",
        "ports": [
            {"containerPort": 8080, "name": "http"},
            {"containerPort": 9090, "name": "admin"},
        ],
    }
]
APP = {"app": "checkout"}
OLD, NEW = "2024-01-01T00:00:00Z", "2025-06-01T00:00:00Z"
STRICT, PERMISSIVE, DISABLE = MtlsMode.STRICT, MtlsMode.PERMISSIVE, MtlsMode.DISABLE


def _assess(*policies: RawObject, proxy: str | None = "ready", native: bool = False) -> Any:
    snapshot = kubelet.snapshot_of(
        b.injected_namespace("shop"),
        b.service("checkout", ports=TWO_PORTS),
        b.workload_pod("checkout", containers=CONTAINERS, proxy=proxy, native_proxy=native),
        *policies,
    )
    return posture.assess(snapshot=snapshot, service=SHOP)


RULES = [
    pytest.param(
        [], {8080: PERMISSIVE, 9090: PERMISSIVE}, "", id="no-policy-istio-default-permissive"
    ),
    pytest.param(
        [b.peer_authentication("default", "istio-system", "STRICT")],
        {8080: STRICT, 9090: STRICT},
        "PeerAuthentication istio-system/default",
        id="mesh-strict",
    ),
    pytest.param(
        [
            b.peer_authentication("default", "istio-system", "STRICT"),
            b.peer_authentication("default", "shop", "PERMISSIVE"),
        ],
        {8080: PERMISSIVE, 9090: PERMISSIVE},
        "PeerAuthentication shop/default",
        id="namespace-overrides-mesh",
    ),
    pytest.param(
        [
            b.peer_authentication("default", "istio-system", "DISABLE"),
            b.peer_authentication("default", "shop", None),
        ],
        {8080: DISABLE, 9090: DISABLE},
        "PeerAuthentication istio-system/default",
        id="namespace-unset-inherits-mesh",
    ),
    pytest.param(
        [
            b.peer_authentication("default", "shop", "STRICT"),
            b.peer_authentication("checkout", "shop", "PERMISSIVE", selector=APP),
        ],
        {8080: PERMISSIVE, 9090: PERMISSIVE},
        "PeerAuthentication shop/checkout",
        id="workload-overrides-namespace",
    ),
    pytest.param(
        [
            b.peer_authentication("default", "shop", "STRICT"),
            b.peer_authentication("checkout", "shop", None, selector=APP, ports={8080: "DISABLE"}),
        ],
        {8080: DISABLE, 9090: STRICT},
        "PeerAuthentication shop/default",
        id="port-level-overrides-workload-unset-inherits",
    ),
    pytest.param(
        [
            b.peer_authentication("checkout", "shop", "STRICT", selector=APP, ports={"9090": None}),
        ],
        {8080: STRICT, 9090: STRICT},
        "PeerAuthentication shop/checkout",
        id="port-level-unset-inherits-workload-mode",
    ),
    pytest.param(
        [b.peer_authentication("strict-checkout", "istio-system", "STRICT", selector=APP)],
        {8080: PERMISSIVE, 9090: PERMISSIVE},
        "",
        id="selector-in-root-namespace-ignored",
    ),
    pytest.param(
        [
            b.peer_authentication("zz-old", "shop", "PERMISSIVE", created=OLD),
            b.peer_authentication("aa-new", "shop", "STRICT", created=NEW),
        ],
        {8080: PERMISSIVE, 9090: PERMISSIVE},
        "PeerAuthentication shop/zz-old",
        id="oldest-namespace-policy-wins",
    ),
    pytest.param(
        [
            b.peer_authentication("b-policy", "shop", "STRICT", created=OLD),
            b.peer_authentication("a-policy", "shop", "DISABLE", created=OLD),
        ],
        {8080: DISABLE, 9090: DISABLE},
        "PeerAuthentication shop/a-policy",
        id="same-age-name-breaks-the-tie",
    ),
    pytest.param(
        [
            b.peer_authentication("w-new", "shop", "STRICT", selector=APP, created=NEW),
            b.peer_authentication(
                "w-old", "shop", "DISABLE", selector={"version": "v1"}, created=OLD
            ),
        ],
        {8080: DISABLE, 9090: DISABLE},
        "PeerAuthentication shop/w-old",
        id="oldest-workload-policy-wins",
    ),
    pytest.param(
        [
            b.peer_authentication("default", "shop", "STRICT"),
            b.peer_authentication("other", "shop", "DISABLE", selector={"app": "payments"}),
        ],
        {8080: STRICT, 9090: STRICT},
        "PeerAuthentication shop/default",
        id="non-matching-selector-does-not-apply",
    ),
    pytest.param(
        [b.peer_authentication("default", "payments", "DISABLE")],
        {8080: PERMISSIVE, 9090: PERMISSIVE},
        "",
        id="other-namespace-does-not-apply",
    ),
    pytest.param(
        [b.peer_authentication("default", "shop", "STRICT", ports={8080: "DISABLE"})],
        {8080: STRICT, 9090: STRICT},
        "PeerAuthentication shop/default",
        id="port-level-without-selector-ignored",
    ),
    pytest.param(
        [b.peer_authentication("default", "shop", "STRICT", selector={})],
        {8080: STRICT, 9090: STRICT},
        "PeerAuthentication shop/default",
        id="empty-selector-is-namespace-wide",
    ),
]


@pytest.mark.parametrize(("policies", "expected", "decided_by"), RULES)
def test_effective_mode_per_container_port(
    policies: list[RawObject], expected: dict[int, MtlsMode], decided_by: str
) -> None:
    result = _assess(*policies)
    (workload,) = result.workloads
    assert {p: item.mode for p, item in workload.ports.items()} == expected
    assert workload.ports[9090].decided_by == decided_by
    assert result.mtls_ports == expected
    assert result.mtls_mode == min(expected.values(), key=["DISABLE", "PERMISSIVE", "STRICT"].index)


FINDINGS = [
    pytest.param(
        [b.peer_authentication("strict-checkout", "istio-system", "STRICT", selector=APP)],
        "MG105",
        "PeerAuthentication istio-system/strict-checkout",
        id="root-selector-reported",
    ),
    pytest.param(
        [
            b.peer_authentication("zz-old", "shop", "PERMISSIVE", created=OLD),
            b.peer_authentication("aa-new", "shop", "STRICT", created=NEW),
        ],
        "MG104",
        "PeerAuthentication shop/aa-new",
        id="shadowed-reported",
    ),
    pytest.param(
        [b.peer_authentication("default", "shop", "STRICT", ports={8080: "DISABLE"})],
        "MG107",
        "PeerAuthentication shop/default",
        id="port-level-without-selector-reported",
    ),
    pytest.param(
        [b.peer_authentication("default", "shop", "DISABLE")],
        "MG101",
        "PeerAuthentication shop/default",
        id="disable-reported",
    ),
    pytest.param([], "MG102", None, id="permissive-reported"),
]


@pytest.mark.parametrize(("policies", "code", "obj"), FINDINGS)
def test_policy_mistakes_are_findings(
    policies: list[RawObject], code: str, obj: str | None
) -> None:
    found = [f for f in _assess(*policies).findings if f.code == code]
    assert found, f"expected {code}"
    if obj is not None:
        assert obj in found[0].objects


def test_no_sidecar_means_plaintext_whatever_the_policy_says() -> None:
    result = _assess(b.peer_authentication("default", "shop", "STRICT"), proxy=None)
    assert result.mtls_mode is MtlsMode.DISABLE
    assert result.sidecar.value == "missing"
    mg106 = [f for f in result.findings if f.code == "MG106"]
    assert mg106 and "PeerAuthentication shop/default" in mg106[0].objects


def test_native_sidecar_gets_the_policy() -> None:
    result = _assess(b.peer_authentication("default", "shop", "STRICT"), native=True)
    assert result.sidecar.value == "injected"
    assert result.mtls_mode is MtlsMode.STRICT


@pytest.mark.parametrize(
    ("unreadable", "expected"),
    [
        pytest.param(Kind.PEER_AUTHENTICATION, MtlsMode.UNKNOWN, id="peer-authentication"),
        pytest.param(Kind.POD, MtlsMode.UNKNOWN, id="pods"),
    ],
)
def test_read_error_makes_mode_unknown_never_strict(unreadable: Kind, expected: MtlsMode) -> None:
    objs = [
        b.injected_namespace("shop"),
        b.service("checkout", ports=TWO_PORTS),
        b.workload_pod("checkout", containers=CONTAINERS),
        b.peer_authentication("default", "istio-system", "STRICT"),
    ]
    snapshot = kubelet.snapshot_of(*objs, errors={unreadable: "403 forbidden"})
    result = posture.assess(snapshot=snapshot, service=SHOP)
    assert result.mtls_mode is expected
    assert any(f.code == "MG001" and unreadable.value in f.message for f in result.findings)


def test_no_pods_means_unknown() -> None:
    snapshot = kubelet.snapshot_of(b.service("checkout"))
    result = posture.assess(snapshot=snapshot, service=SHOP)
    assert result.mtls_mode is MtlsMode.UNKNOWN
    assert [f.code for f in result.findings if f.code == "MG003"] == ["MG003"]


# Istio task "Mutual TLS Migration": httpbin and curl in foo and bar (injected), and in legacy
# (not injected). Step 1 puts a STRICT policy in foo; step 2 a mesh-wide STRICT one.
def _migration(step: int) -> dict[str, MtlsMode]:
    foo_policy, mesh_policy = b.reference_docs("tasks/mtls-migration.yaml")
    policies = [foo_policy] if step == 1 else [foo_policy, mesh_policy]
    objs: list[RawObject] = [*policies]
    for ns in ("foo", "bar", "legacy"):
        injected = ns != "legacy"
        labels = {"istio-injection": "enabled"} if injected else {}
        objs.append(b.namespace(ns, labels))
        objs.append(
            b.service("httpbin", ns, ports=[{"name": "http", "port": 8000, "targetPort": 8080}])
        )
        objs.append(b.workload_pod("httpbin", ns, proxy="ready" if injected else None))
    snapshot = kubelet.snapshot_of(*objs)
    return {
        ns: posture.assess(snapshot=snapshot, service=ServiceRef(ns, "httpbin")).mtls_mode
        for ns in ("foo", "bar", "legacy")
    }


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        # Step 1: "requests from curl in legacy to httpbin.foo fail", to httpbin.bar succeed.
        pytest.param(1, {"foo": STRICT, "bar": PERMISSIVE, "legacy": DISABLE}, id="namespace-foo"),
        # Step 2: "requests from legacy to httpbin in foo and bar fail".
        pytest.param(2, {"foo": STRICT, "bar": STRICT, "legacy": DISABLE}, id="mesh-wide"),
    ],
)
def test_istio_task_mtls_migration(step: int, expected: dict[str, MtlsMode]) -> None:
    assert _migration(step) == expected


TLS = [
    pytest.param(
        {"trafficPolicy": {"tls": {"mode": "DISABLE"}}}, STRICT, True, id="disable-vs-strict"
    ),
    pytest.param(
        {"trafficPolicy": {"tls": {"mode": "SIMPLE"}}}, STRICT, True, id="simple-vs-strict"
    ),
    pytest.param(
        {"trafficPolicy": {"tls": {"mode": "MUTUAL"}}}, STRICT, True, id="mutual-vs-strict"
    ),
    pytest.param(
        {"trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}, STRICT, False, id="istio-mutual-fine"
    ),
    pytest.param(
        {"trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}},
        STRICT,
        False,
        id="no-tls-fine",
    ),
    pytest.param(
        {"trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        PERMISSIVE,
        False,
        id="disable-vs-permissive-works-today",
    ),
    pytest.param(
        {
            "trafficPolicy": {
                "portLevelSettings": [{"port": {"number": 80}, "tls": {"mode": "DISABLE"}}]
            }
        },
        STRICT,
        True,
        id="port-level-disable",
    ),
    pytest.param(
        {
            "subsets": [
                {
                    "name": "v1",
                    "labels": {"version": "v1"},
                    "trafficPolicy": {"tls": {"mode": "SIMPLE"}},
                }
            ]
        },
        STRICT,
        True,
        id="subset-simple",
    ),
]


@pytest.mark.parametrize(("spec", "mode", "conflict"), TLS)
def test_destination_rule_tls_conflicts_with_strict(
    spec: dict[str, Any], mode: MtlsMode, conflict: bool
) -> None:
    result = _assess(
        b.peer_authentication("default", "shop", mode.value),
        b.destination_rule("checkout", "shop", host="checkout", spec=spec),
    )
    conflicts = [f for f in result.findings if f.code == "MG103"]
    assert bool(conflicts) is conflict
    if conflict:
        assert conflicts[0].objects == ("DestinationRule shop/checkout",)
        assert conflicts[0].severity.value == "error"


@pytest.mark.parametrize(
    ("host", "rule_ns", "applies"),
    [
        pytest.param("checkout", "shop", True, id="short-name"),
        pytest.param("checkout.shop.svc.cluster.local", "other", True, id="fqdn-elsewhere"),
        pytest.param("checkout.shop", "other", True, id="name-dot-namespace"),
        pytest.param("*.shop.svc.cluster.local", "shop", True, id="wildcard"),
        pytest.param("checkout", "other", False, id="short-name-other-namespace"),
        pytest.param("payments", "shop", False, id="another-service"),
    ],
)
def test_destination_rule_host_matching(host: str, rule_ns: str, applies: bool) -> None:
    result = _assess(
        b.peer_authentication("default", "shop", "STRICT"),
        b.destination_rule(
            "dr", rule_ns, host=host, spec={"trafficPolicy": {"tls": {"mode": "DISABLE"}}}
        ),
    )
    assert any(f.code == "MG103" for f in result.findings) is applies


def test_istio_sample_all_mtls_destination_rules_do_not_conflict() -> None:
    rules = b.reference_docs("samples/destination-rule-all-mtls.yaml", namespace="default")
    pods = [b.workload_pod("reviews", "default", version=v) for v in ("v1", "v2", "v3")]
    snapshot = kubelet.snapshot_of(
        b.injected_namespace("default"),
        b.service("reviews", "default", ports=[{"name": "http", "port": 9080}]),
        b.peer_authentication("default", "istio-system", "STRICT"),
        *pods,
        *rules,
    )
    result = posture.assess(snapshot=snapshot, service=ServiceRef("default", "reviews"))
    assert result.mtls_mode is STRICT
    assert not [f for f in result.findings if f.code in {"MG103", "MG403"}]
