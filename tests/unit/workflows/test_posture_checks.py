"""The playbook's automated checks: pass, fail and unknown, with reasons naming the objects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows import playbook
from workflows.gates import checks
from workflows.gates.posture_checks import CHECKS
from workflows.gates.verdicts import Verdict
from workflows.mesh.snapshot import Kind, RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
NS = b.injected_namespace("shop")
SVC = b.service("checkout")
POD = b.workload_pod("checkout")
STRICT_MESH = b.peer_authentication("default", "istio-system", "STRICT")
INGRESS_POD = kubelet.pod(
    name="istio-ingressgateway-1", namespace="istio-system", labels={"istio": "ingressgateway"}
)
GATEWAY = b.istio_object(
    "Gateway",
    "shop-gateway",
    "shop",
    {
        "selector": {"istio": "ingressgateway"},
        "servers": [
            {
                "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                "hosts": ["shop.example.com"],
                "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"},
            }
        ],
    },
)


def vs(gateways: list[str], hosts: tuple[str, ...] = ("shop.example.com",)) -> RawObject:
    return b.istio_object(
        "VirtualService",
        "checkout",
        "shop",
        {
            "hosts": list(hosts),
            "gateways": gateways,
            "http": [{"route": [{"destination": {"host": "checkout", "port": {"number": 80}}}]}],
        },
    )


INGRESS_SVC = b.service("checkout", annotations={"meshgate.io/ingress-hosts": "shop.example.com"})
EGRESS_SVC = b.service(
    "checkout", annotations={"meshgate.io/external-hosts": "api.stripe.com, *.googleapis.com"}
)


REGISTRY_ONLY = b.mesh_config(outbound="REGISTRY_ONLY")
EXCLUDE = "traffic.sidecar.istio.io/excludeInboundPorts"
ALLOW_WEB = {"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]}]}


def subset_route(subset: str) -> RawObject:
    """A mesh VirtualService routing to `subset` of checkout."""
    return b.istio_object(
        "VirtualService",
        f"checkout-{subset}",
        "shop",
        {
            "hosts": ["checkout"],
            "http": [{"route": [{"destination": {"host": "checkout", "subset": subset}}]}],
        },
    )


def se(name: str, hosts: list[str], **spec: Any) -> RawObject:
    return b.istio_object(
        "ServiceEntry", name, "shop", {"hosts": hosts, "location": "MESH_EXTERNAL", **spec}
    )


CASES = [
    # assess
    pytest.param(
        "ports-named", [NS, SVC, POD], Verdict.PASS, "http (80) HTTP", id="ports-named-pass"
    ),
    pytest.param(
        "ports-named",
        [NS, b.service("checkout", ports=[{"name": "web", "port": 80}]), POD],
        Verdict.FAIL,
        "port 80 'web'",
        id="ports-named-fail",
    ),
    pytest.param(
        "pods-running", [NS, SVC, POD], Verdict.PASS, "all 1 pods running", id="pods-running-pass"
    ),
    pytest.param(
        "pods-running",
        [NS, SVC, b.workload_pod("checkout", phase="Pending", ready=False)],
        Verdict.FAIL,
        "checkout-v1-",
        id="pods-running-pending",
    ),
    pytest.param(
        "pods-running", [NS, SVC], Verdict.FAIL, "selects no pods", id="pods-running-none"
    ),
    pytest.param(
        "no-uid-1337",
        [NS, SVC, b.workload_pod("checkout", run_as_user=1337)],
        Verdict.FAIL,
        "UID 1337",
        id="uid-fail",
    ),
    pytest.param("no-uid-1337", [NS, SVC, POD], Verdict.PASS, "", id="uid-pass"),
    pytest.param(
        "no-uid-1337", [NS, SVC], Verdict.UNKNOWN, "selects no pods", id="uid-no-pods-unknown"
    ),
    pytest.param(
        "no-host-network",
        [NS, SVC, b.workload_pod("checkout", host_network=True)],
        Verdict.FAIL,
        "host network",
        id="host-network-fail",
    ),
    pytest.param("no-host-network", [NS, SVC, POD], Verdict.PASS, "", id="host-network-pass"),
    # inject
    pytest.param(
        "pods-ready",
        [NS, SVC, b.workload_pod("checkout", ready=False)],
        Verdict.FAIL,
        "not running and ready",
        id="pods-ready-fail",
    ),
    pytest.param("pods-ready", [NS, SVC, POD], Verdict.PASS, "", id="pods-ready-pass"),
    pytest.param(
        "sidecars-ready", [NS, SVC, POD], Verdict.PASS, "istio-proxy", id="sidecars-ready-pass"
    ),
    pytest.param(
        "sidecars-ready",
        [NS, SVC, POD, b.workload_pod("checkout", index=1, proxy="not-ready")],
        Verdict.FAIL,
        "checkout-v1-5d8f7c9b6-p1",
        id="sidecars-one-not-ready",
    ),
    # route
    pytest.param(
        "virtualservice-bound",
        [NS, SVC, POD],
        Verdict.PASS,
        "not ingress-facing",
        id="vs-not-ingress",
    ),
    pytest.param(
        "virtualservice-bound",
        [NS, INGRESS_SVC, POD, INGRESS_POD, GATEWAY, vs(["shop-gateway"])],
        Verdict.PASS,
        "VirtualService shop/checkout -> Gateway shop/shop-gateway",
        id="vs-bound",
    ),
    pytest.param(
        "virtualservice-bound",
        [NS, INGRESS_SVC, POD, GATEWAY, vs(["mesh"])],
        Verdict.FAIL,
        "ingress host shop.example.com",
        id="vs-mesh-only",
    ),
    pytest.param(
        "virtualservice-bound",
        [NS, SVC, POD, vs(["istio-system/missing-gateway"])],
        Verdict.FAIL,
        "Gateway istio-system/missing-gateway, which does not exist",
        id="vs-gateway-missing",
    ),
    pytest.param(
        "virtualservice-bound",
        [NS, INGRESS_SVC, POD, GATEWAY, vs(["shop-gateway"], hosts=("other.example.com",))],
        Verdict.FAIL,
        "shop.example.com",
        id="vs-wrong-host",
    ),
    pytest.param(
        "subsets-select-pods",
        [
            NS,
            SVC,
            POD,
            b.destination_rule(
                "checkout",
                "shop",
                host="checkout",
                spec={
                    "subsets": [
                        {"name": "v1", "labels": {"version": "v1"}},
                        {"name": "v2", "labels": {"version": "v2"}},
                    ]
                },
            ),
            subset_route("v2"),
        ],
        Verdict.FAIL,
        "subset v2 of DestinationRule shop/checkout selects no pod",
        id="used-subset-without-pods",
    ),
    pytest.param(
        "subsets-select-pods",
        [
            NS,
            SVC,
            POD,
            b.destination_rule(
                "checkout",
                "shop",
                host="checkout",
                spec={"subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
            ),
            subset_route("v1"),
        ],
        Verdict.PASS,
        "checkout/v1",
        id="subset-with-pods",
    ),
    pytest.param(
        "subsets-select-pods",
        [NS, SVC, POD],
        Verdict.PASS,
        "no route uses a DestinationRule subset",
        id="no-subsets",
    ),
    # egress
    pytest.param(
        "serviceentries-declared",
        [
            NS,
            EGRESS_SVC,
            POD,
            REGISTRY_ONLY,
            se("stripe", ["api.stripe.com"]),
            se("google", ["*.googleapis.com"]),
        ],
        Verdict.PASS,
        "ServiceEntry shop/stripe",
        id="egress-covered",
    ),
    pytest.param(
        "serviceentries-declared",
        [NS, EGRESS_SVC, POD, se("stripe", ["api.stripe.com"])],
        Verdict.FAIL,
        "*.googleapis.com",
        id="egress-missing",
    ),
    pytest.param(
        "serviceentries-declared",
        [
            NS,
            EGRESS_SVC,
            POD,
            se("stripe", ["api.stripe.com"], exportTo=["payments"]),
            se("google", ["*.googleapis.com"]),
        ],
        Verdict.FAIL,
        "api.stripe.com",
        id="egress-not-exported-here",
    ),
    # certs
    pytest.param(
        "certificates-ready",
        [
            NS,
            SVC,
            POD,
            INGRESS_POD,
            GATEWAY,
            vs(["shop-gateway"]),
            b.secret("shop-cert", "istio-system"),
            b.certificate("shop-cert", "istio-system", secret_name="shop-cert", ready=True),
        ],
        Verdict.PASS,
        "shop-cert",
        id="certs-ready",
    ),
    pytest.param(
        "certificates-ready",
        [
            NS,
            SVC,
            POD,
            INGRESS_POD,
            GATEWAY,
            vs(["shop-gateway"]),
            b.secret("shop-cert", "istio-system"),
            b.certificate("shop-cert", "istio-system", secret_name="shop-cert", ready=False),
        ],
        Verdict.FAIL,
        "Certificate istio-system/shop-cert",
        id="certs-not-ready",
    ),
    pytest.param(
        "certificates-ready",
        [NS, SVC, POD, INGRESS_POD, GATEWAY, vs(["shop-gateway"]), b.secret("shop-cert", "shop")],
        Verdict.FAIL,
        "Secret shop-cert",
        id="certs-secret-in-wrong-namespace",
    ),
    pytest.param(
        "certificates-ready", [NS, SVC, POD], Verdict.PASS, "not ingress-facing", id="certs-none"
    ),
    # permissive
    pytest.param(
        "workloads-injected",
        [NS, SVC, POD],
        Verdict.PASS,
        "Deployment shop/checkout-v1",
        id="injected",
    ),
    pytest.param(
        "workloads-injected",
        [NS, SVC, POD, b.workload_pod("checkout", version="v2", proxy=None)],
        Verdict.FAIL,
        "Deployment shop/checkout-v2: no istio-proxy",
        id="one-workload-not-injected",
    ),
    pytest.param(
        "mtls-at-least-permissive", [NS, SVC, POD], Verdict.PASS, "", id="default-is-permissive"
    ),
    pytest.param(
        "mtls-at-least-permissive",
        [NS, SVC, POD, b.peer_authentication("off", "shop", "DISABLE")],
        Verdict.FAIL,
        "port 8080 DISABLE (PeerAuthentication shop/off)",
        id="disabled",
    ),
    pytest.param(
        "mtls-at-least-permissive",
        [NS, SVC, b.workload_pod("checkout", proxy=None)],
        Verdict.FAIL,
        "port 8080 DISABLE",
        id="no-sidecar-is-plaintext",
    ),
    # strict
    pytest.param(
        "mtls-strict",
        [NS, SVC, POD, STRICT_MESH],
        Verdict.PASS,
        "STRICT on every port",
        id="strict",
    ),
    pytest.param(
        "mtls-strict",
        [
            NS,
            SVC,
            POD,
            STRICT_MESH,
            b.peer_authentication(
                "w", "shop", None, selector={"app": "checkout"}, ports={8080: "PERMISSIVE"}
            ),
        ],
        Verdict.FAIL,
        "port 8080 PERMISSIVE (PeerAuthentication shop/w)",
        id="port-level-permissive",
    ),
    pytest.param(
        "mtls-strict", [NS, SVC], Verdict.UNKNOWN, "selects no pods", id="strict-no-pods-unknown"
    ),
    pytest.param(
        "mtls-strict",
        [
            b.namespace("shop", {"istio.io/dataplane-mode": "ambient"}),
            SVC,
            b.workload_pod("checkout", proxy=None),
            STRICT_MESH,
        ],
        Verdict.UNKNOWN,
        "mTLS unknown on port 8080 (ambient mode",
        id="ambient-unknown-not-disable",
    ),
    pytest.param(
        "mtls-at-least-permissive",
        [NS, SVC, b.workload_pod("checkout", annotations={EXCLUDE: "8080"}), STRICT_MESH],
        Verdict.FAIL,
        "port 8080 DISABLE (Pod shop/checkout-v1-5d8f7c9b6-p0 annotation " + EXCLUDE,
        id="excluded-port-is-plaintext",
    ),
    pytest.param("no-tls-conflict", [NS, SVC, POD], Verdict.PASS, "", id="no-dr"),
    pytest.param(
        "no-tls-conflict",
        [
            NS,
            SVC,
            POD,
            b.destination_rule(
                "checkout",
                "shop",
                host="checkout",
                spec={"trafficPolicy": {"tls": {"mode": "DISABLE"}}},
            ),
        ],
        Verdict.FAIL,
        "DestinationRule shop/checkout sets tls.mode DISABLE",
        id="dr-disable-would-break-strict",
    ),
    # rbac
    pytest.param(
        "authz-dry-run-present",
        [
            NS,
            SVC,
            POD,
            b.authorization_policy(
                "checkout-allow",
                "shop",
                spec={"selector": {"matchLabels": {"app": "checkout"}}, "rules": [{}]},
                dry_run=True,
            ),
        ],
        Verdict.PASS,
        "",
        id="dry-run-present",
    ),
    pytest.param(
        "authz-dry-run-present",
        [NS, SVC, POD, b.authorization_policy("checkout-allow", "shop", spec={"rules": [{}]})],
        Verdict.FAIL,
        "no ALLOW AuthorizationPolicy with istio.io/dry-run",
        id="dry-run-absent",
    ),
    pytest.param(
        "deny-by-default",
        [
            NS,
            SVC,
            POD,
            b.authorization_policy(
                "checkout-allow",
                "shop",
                spec={
                    "rules": [
                        {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]}
                    ]
                },
            ),
        ],
        Verdict.PASS,
        "Deployment shop/checkout-v1",
        id="deny-by-default",
    ),
    pytest.param(
        "deny-by-default",
        [
            NS,
            SVC,
            POD,
            b.authorization_policy("checkout-allow", "shop", spec={"rules": [{}]}, dry_run=True),
        ],
        Verdict.FAIL,
        "not enforced: shop/checkout-allow",
        id="dry-run-does-not-count",
    ),
]


@pytest.mark.parametrize(("check_id", "objs", "verdict", "reason"), CASES)
def test_check(check_id: str, objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    result = CHECKS[check_id](kubelet.snapshot_of(*objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason
    if verdict is Verdict.FAIL:
        assert result.fix


def test_every_check_of_the_default_playbook_is_implemented() -> None:
    ids = {
        item.check
        for phase in playbook.default().phases
        for item in (*phase.gate, *phase.verify)
        if item.check
    }
    assert ids and ids <= set(CHECKS)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_a_missing_service_fails_with_service_not_found(check_id: str) -> None:
    result = CHECKS[check_id](kubelet.snapshot_of(NS, POD), SHOP)
    assert result.verdict is Verdict.FAIL
    assert result.reason == "service not found"


S, P = Kind.SERVICE, Kind.POD
NEEDS = {
    "ports-named": (S,),
    "pods-running": (S, P),
    "no-uid-1337": (S, P),
    "no-host-network": (S, P),
    "pods-ready": (S, P),
    "control-plane-ready": (S, P, Kind.NAMESPACE, Kind.MUTATING_WEBHOOK),
    "sidecars-ready": (S, P),
    "workloads-injected": (S, P),
    "mtls-at-least-permissive": (S, P, Kind.PEER_AUTHENTICATION, Kind.CONFIG_MAP),
    "mtls-strict": (S, P, Kind.PEER_AUTHENTICATION, Kind.CONFIG_MAP),
    "no-tls-conflict": (S, Kind.DESTINATION_RULE),
    "authz-dry-run-present": (S, P, Kind.AUTHORIZATION_POLICY, Kind.CONFIG_MAP),
    "deny-by-default": (S, P, Kind.AUTHORIZATION_POLICY, Kind.CONFIG_MAP),
    "virtualservice-bound": (S, P, Kind.VIRTUAL_SERVICE, Kind.GATEWAY),
    "subsets-select-pods": (S, P, Kind.VIRTUAL_SERVICE, Kind.DESTINATION_RULE),
    "serviceentries-declared": (S, P, Kind.SERVICE_ENTRY, Kind.SIDECAR, Kind.CONFIG_MAP),
    "certificates-ready": (S, P, Kind.VIRTUAL_SERVICE, Kind.GATEWAY, Kind.SECRET, Kind.CERTIFICATE),
}


def test_the_kind_table_covers_every_check() -> None:
    assert set(NEEDS) == set(CHECKS)


@pytest.mark.parametrize(
    ("check_id", "kind"),
    [pytest.param(c, k, id=f"{c}-{k.value}") for c, kinds in NEEDS.items() for k in kinds],
)
def test_an_unreadable_kind_is_unknown_never_pass(check_id: str, kind: Kind) -> None:
    # Objects under which every check would pass, so only the read error can change the verdict.
    objs = [NS, EGRESS_SVC, POD, STRICT_MESH, REGISTRY_ONLY, b.injector_webhooks(), *b.istiod()]
    objs += [se("stripe", ["api.stripe.com"]), se("google", ["*.googleapis.com"])]
    objs.append(b.authorization_policy("a", "shop", spec={"rules": [{}]}, dry_run=True))
    objs.append(b.authorization_policy("b", "shop", spec=ALLOW_WEB))
    snapshot = kubelet.snapshot_of(*objs, errors={kind: "403 forbidden"})
    result = CHECKS[check_id](snapshot, SHOP)
    assert result.verdict is Verdict.UNKNOWN
    assert f"{kind.value}: 403 forbidden" in result.reason
    assert CHECKS[check_id](kubelet.snapshot_of(*objs), SHOP).verdict is Verdict.PASS


def test_checks_run_through_the_registry_by_id() -> None:
    results = checks.run(
        snapshot=kubelet.snapshot_of(NS, SVC, POD, STRICT_MESH),
        service=SHOP,
        check_ids=["mtls-strict", "deny-by-default"],
        registry=CHECKS,
    )
    assert results["mtls-strict"].verdict is Verdict.PASS
    assert results["deny-by-default"].verdict is Verdict.FAIL


def test_every_check_has_a_state_it_passes_and_one_it_fails() -> None:
    from tests.unit.workflows import test_check_false_greens as more

    seen: dict[str, set[Verdict]] = {}
    for case in CASES:
        check_id, _, verdict, _ = case.values
        seen.setdefault(str(check_id), set()).add(Verdict(str(verdict)))
    tables = {
        "deny-by-default": more.DENY_BY_DEFAULT,
        "serviceentries-declared": more.EGRESS,
        "certificates-ready": more.CERTS,
        "virtualservice-bound": more.VS_BOUND,
        "subsets-select-pods": more.SUBSETS,
        "control-plane-ready": more.CONTROL_PLANE,
    }
    for check_id, table in tables.items():
        seen.setdefault(check_id, set()).update(Verdict(str(case.values[-2])) for case in table)
    missing = {
        c: v for c in CHECKS if not {Verdict.PASS, Verdict.FAIL} <= (v := seen.get(c, set()))
    }
    assert missing == {}
