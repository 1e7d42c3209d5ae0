"""Checks that used to pass on the wrong state (issue 10): each row is a right or a wrong state.

Every false green the issue lists has a row that must not pass, next to the state that must.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.gates.posture_checks import CHECKS
from workflows.gates.verdicts import Verdict
from workflows.mesh.snapshot import RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
NS = b.injected_namespace("shop")
SVC = b.service("checkout")
POD = b.workload_pod("checkout")
WEB = "cluster.local/ns/shop/sa/web"
INGRESS_POD = kubelet.pod(
    name="istio-ingressgateway-1", namespace="istio-system", labels={"istio": "ingressgateway"}
)
REGISTRY_ONLY = b.mesh_config(outbound="REGISTRY_ONLY")
ALLOW_ANY = b.mesh_config(outbound="ALLOW_ANY")


def allow(name: str, *rules: dict[str, Any], dry_run: bool = False) -> RawObject:
    return b.authorization_policy(name, "shop", spec={"rules": list(rules)}, dry_run=dry_run)


FROM_WEB = {"from": [{"source": {"principals": [WEB]}}]}

DENY_BY_DEFAULT = [
    pytest.param([allow("allow-web", FROM_WEB)], Verdict.PASS, "without allow-all", id="list"),
    pytest.param(
        [allow("all", {})], Verdict.FAIL, "shop/all allows every request", id="empty-rule"
    ),
    pytest.param(
        [allow("all", {"to": [{"operation": {"methods": ["*"]}}]})],
        Verdict.FAIL,
        "allow-all",
        id="methods-star",
    ),
    pytest.param(
        [allow("any", {"from": [{"source": {"principals": ["*"]}}]})],
        Verdict.FAIL,
        "any mesh identity",
        id="principals-star",
    ),
    pytest.param(
        [allow("any", {"from": [{"source": {"trustDomains": ["*"]}}]})],
        Verdict.FAIL,
        "any mesh identity",
        id="trust-domains-star",
    ),
    # ALLOW policies are ORed: an allow-all next to an allow-list lets everything in.
    pytest.param(
        [allow("allow-web", FROM_WEB), allow("all", {})],
        Verdict.FAIL,
        "shop/all allows every request",
        id="list-next-to-allow-all",
    ),
    # A dry-run allow-all enforces nothing, so it does not undo the allow-list.
    pytest.param(
        [allow("allow-web", FROM_WEB), allow("all", {}, dry_run=True)],
        Verdict.PASS,
        "",
        id="dry-run-allow-all-ignored",
    ),
    pytest.param(
        [
            allow(
                "mixed",
                {
                    "from": [
                        {"source": {"principals": ["*"]}},
                        {"source": {"ipBlocks": ["10.0.0.0/8"]}},
                    ]
                },
            )
        ],
        Verdict.FAIL,
        "any mesh identity",
        id="one-wildcard-source-of-two",
    ),
    pytest.param(
        [
            allow(
                "some",
                {
                    "from": [{"source": {"principals": ["*"]}}],
                    "to": [{"operation": {"methods": ["GET"]}}],
                },
            )
        ],
        Verdict.PASS,
        "",
        id="any-identity-but-only-get",
    ),
]


@pytest.mark.parametrize(("policies", "verdict", "reason"), DENY_BY_DEFAULT)
def test_deny_by_default(policies: list[RawObject], verdict: Verdict, reason: str) -> None:
    result = CHECKS["deny-by-default"](kubelet.snapshot_of(NS, SVC, POD, *policies), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


def egress_svc(hosts: str | None) -> RawObject:
    notes = {} if hosts is None else {"meshgate.io/external-hosts": hosts}
    return b.service("checkout", annotations=notes)


def se(name: str, hosts: list[str], location: str | None = "MESH_EXTERNAL") -> RawObject:
    spec: dict[str, Any] = {"hosts": hosts}
    if location is not None:
        spec["location"] = location
    return b.istio_object("ServiceEntry", name, "shop", spec)


STRIPE = se("stripe", ["api.stripe.com"])
EGRESS = [
    pytest.param(
        [egress_svc("api.stripe.com"), STRIPE, REGISTRY_ONLY],
        Verdict.PASS,
        "shop/stripe",
        id="declared",
    ),
    pytest.param(
        [egress_svc("api.stripe.com"), se("stripe", ["api.stripe.com"], None), REGISTRY_ONLY],
        Verdict.PASS,
        "",
        id="location-defaults-external",
    ),
    pytest.param(
        [egress_svc("none"), REGISTRY_ONLY],
        Verdict.PASS,
        "calls no external hosts",
        id="declares-none",
    ),
    pytest.param(
        [egress_svc(None), REGISTRY_ONLY], Verdict.UNKNOWN, "does not declare", id="no-annotation"
    ),
    pytest.param(
        [egress_svc("api.stripe.com"), STRIPE, ALLOW_ANY],
        Verdict.FAIL,
        "ALLOW_ANY (ConfigMap istio-system/istio)",
        id="allow-any",
    ),
    pytest.param(
        [egress_svc("api.stripe.com"), STRIPE],
        Verdict.FAIL,
        "ALLOW_ANY (Istio defaults",
        id="default-is-allow-any",
    ),
    pytest.param(
        [
            egress_svc("api.stripe.com"),
            STRIPE,
            REGISTRY_ONLY,
            b.sidecar("open", "shop", outbound="ALLOW_ANY"),
        ],
        Verdict.FAIL,
        "Sidecar shop/open",
        id="namespace-sidecar-opens",
    ),
    pytest.param(
        [
            egress_svc("api.stripe.com"),
            STRIPE,
            ALLOW_ANY,
            b.sidecar("closed", "shop", outbound="REGISTRY_ONLY", selector={"app": "checkout"}),
        ],
        Verdict.PASS,
        "",
        id="workload-sidecar-closes",
    ),
    pytest.param(
        [
            egress_svc("api.stripe.com"),
            STRIPE,
            REGISTRY_ONLY,
            b.sidecar("root", "istio-system", outbound="ALLOW_ANY"),
        ],
        Verdict.FAIL,
        "Sidecar istio-system/root",
        id="root-sidecar-opens",
    ),
    pytest.param(
        [
            egress_svc("api.stripe.com"),
            se("stripe", ["api.stripe.com"], "MESH_INTERNAL"),
            REGISTRY_ONLY,
        ],
        Verdict.FAIL,
        "only MESH_INTERNAL",
        id="mesh-internal",
    ),
]


EGRESS += [
    pytest.param([egress_svc("api.stripe.com"), STRIPE, REGISTRY_ONLY,
                  b.sidecar("scope", "shop", egress=["./*", "istio-system/*"])],
                 Verdict.PASS, "", id="sidecar-egress-imports-own-namespace"),
    pytest.param([egress_svc("api.stripe.com"), STRIPE, REGISTRY_ONLY,
                  b.sidecar("scope", "shop", egress=["istio-system/*"])],
                 Verdict.FAIL, "not among the egress hosts of Sidecar shop/scope",
                 id="sidecar-egress-does-not-import"),
    pytest.param([egress_svc("api.stripe.com"), STRIPE, REGISTRY_ONLY,
                  b.sidecar("scope", "shop", egress=["*/api.stripe.com"])],
                 Verdict.PASS, "", id="sidecar-egress-imports-host"),
]  # fmt: skip


@pytest.mark.parametrize(("objs", "verdict", "reason"), EGRESS)
def test_serviceentries_declared(objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    result = CHECKS["serviceentries-declared"](kubelet.snapshot_of(NS, POD, *objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


def gateway(*servers: dict[str, Any], selector: str = "ingressgateway") -> RawObject:
    return b.istio_object(
        "Gateway",
        "shop-gateway",
        "shop",
        {"selector": {"istio": selector}, "servers": list(servers)},
    )


def https(hosts: list[str], credential: str = "shop-cert", mode: str = "SIMPLE") -> dict[str, Any]:
    return {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": hosts,
            "tls": {"mode": mode, "credentialName": credential}}  # fmt: skip


def http(hosts: list[str]) -> dict[str, Any]:
    return {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}


def route(hosts: list[str], gateways: list[str] | None = None, **extra: Any) -> RawObject:
    destination = {"host": "checkout", **extra}
    return b.istio_object("VirtualService", "checkout", "shop", {
        "hosts": hosts, "gateways": gateways or ["shop-gateway"],
        "http": [{"route": [{"destination": destination}]}]})  # fmt: skip


SHOP_HOST = ["shop.example.com"]
SECRET = b.secret("shop-cert", "istio-system")
CERT = b.certificate("shop-cert", "istio-system", secret_name="shop-cert", ready=True)


def cert_for(*names: str) -> RawObject:
    return b.certificate(
        "shop-cert", "istio-system", secret_name="shop-cert", ready=True, dns_names=names
    )


BOUND = [NS, SVC, POD, INGRESS_POD]
CERTS = [
    pytest.param(
        [gateway(https(SHOP_HOST)), route(SHOP_HOST), SECRET, CERT],
        Verdict.PASS,
        "shop.example.com",
        id="https-ready",
    ),
    pytest.param(
        [gateway(http(SHOP_HOST)), route(SHOP_HOST)], Verdict.FAIL, "without TLS", id="plain-http"
    ),
    pytest.param(
        [gateway(https(["*.example.com"])), route(SHOP_HOST), SECRET, cert_for("www.example.com")],
        Verdict.FAIL,
        "does not cover shop.example.com",
        id="dns-names-miss-host",
    ),
    pytest.param(
        [gateway(https(SHOP_HOST)), route(SHOP_HOST), SECRET, cert_for("*.example.com")],
        Verdict.PASS,
        "",
        id="wildcard-dns-name",
    ),
    pytest.param(
        [
            gateway(https(["a.b.example.com"])),
            route(["a.b.example.com"]),
            SECRET,
            cert_for("*.example.com"),
        ],
        Verdict.FAIL,
        "does not cover a.b.example.com",
        id="wildcard-covers-one-label",
    ),
    pytest.param(
        [gateway(https(SHOP_HOST, mode="PASSTHROUGH")), route(SHOP_HOST)],
        Verdict.UNKNOWN,
        "passes TLS",
        id="passthrough-unknown",
    ),
    pytest.param(
        [gateway(https(SHOP_HOST)), route(SHOP_HOST), SECRET],
        Verdict.UNKNOWN,
        "not written by a cert-manager Certificate",
        id="secret-without-certificate",
    ),
]


@pytest.mark.parametrize(("objs", "verdict", "reason"), CERTS)
def test_certificates_ready(objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    result = CHECKS["certificates-ready"](kubelet.snapshot_of(*BOUND, *objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


INGRESS_SVC = b.service("checkout", annotations={"meshgate.io/ingress-hosts": "shop.example.com"})
VS_BOUND = [
    pytest.param(
        [INGRESS_POD, gateway(https(SHOP_HOST)), route(SHOP_HOST)],
        Verdict.PASS,
        "bound",
        id="bound",
    ),
    pytest.param(
        [INGRESS_POD, gateway(https(["shop/*.example.com"])), route(SHOP_HOST)],
        Verdict.PASS,
        "",
        id="namespaced-gateway-host",
    ),
    # Hosts the Gateway does not serve: Istio ignores the binding (vsHostInGateway).
    pytest.param(
        [INGRESS_POD, gateway(https(["other.example.com"])), route(SHOP_HOST)],
        Verdict.FAIL,
        "Istio ignores the binding",
        id="gateway-serves-other-host",
    ),
    pytest.param(
        [INGRESS_POD, gateway(https(["payments/*.example.com"])), route(SHOP_HOST)],
        Verdict.FAIL,
        "Istio ignores the binding",
        id="gateway-host-for-another-namespace",
    ),
    pytest.param(
        [INGRESS_POD, gateway(https(SHOP_HOST), selector="eastwest"), route(SHOP_HOST)],
        Verdict.FAIL,
        "selects no gateway pod",
        id="selector-matches-no-pod",
    ),
]


@pytest.mark.parametrize(("objs", "verdict", "reason"), VS_BOUND)
def test_virtualservice_bound(objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    snapshot = kubelet.snapshot_of(NS, INGRESS_SVC, POD, *objs)
    result = CHECKS["virtualservice-bound"](snapshot, SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


def rule(*subsets: str) -> RawObject:
    return b.destination_rule("checkout", "shop", host="checkout", spec={
        "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]})  # fmt: skip


def mesh_route(subset: str) -> RawObject:
    return route(["checkout"], gateways=["mesh"], subset=subset)


SUBSETS = [
    pytest.param(
        [rule("v1", "v2")],
        Verdict.PASS,
        "unused (not checked): checkout/v1, checkout/v2",
        id="unused-subsets-harmless",
    ),
    pytest.param(
        [rule("v1", "v2"), mesh_route("v1")],
        Verdict.PASS,
        "checkout/v1",
        id="used-subset-selects-pods",
    ),
    pytest.param(
        [rule("v1", "v2"), mesh_route("v2")],
        Verdict.FAIL,
        "subset v2 of DestinationRule shop/checkout selects no pod",
        id="used-subset-without-pods",
    ),
    pytest.param(
        [rule("v1"), mesh_route("v3")],
        Verdict.FAIL,
        "subset v3 of Service shop/checkout, which no DestinationRule defines",
        id="undefined-subset",
    ),
    pytest.param(
        [mesh_route("v1")], Verdict.FAIL, "no DestinationRule defines", id="subset-without-any-rule"
    ),
]


@pytest.mark.parametrize(("objs", "verdict", "reason"), SUBSETS)
def test_subsets_select_pods(objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    result = CHECKS["subsets-select-pods"](kubelet.snapshot_of(NS, SVC, POD, *objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


UNLABELLED = b.namespace("shop")
CANARY_NS = b.namespace("shop", {"istio.io/rev": "canary"})
DEFAULT_CP = [b.injector_webhooks(), *b.istiod()]
CONTROL_PLANE = [
    pytest.param([UNLABELLED, *DEFAULT_CP], Verdict.PASS, "revision default served", id="default"),
    pytest.param([NS, *DEFAULT_CP], Verdict.PASS, "namespace.sidecar-injector", id="labelled"),
    pytest.param([UNLABELLED], Verdict.FAIL, "no Istio injection webhook", id="no-istiod"),
    pytest.param([UNLABELLED, b.injector_webhooks(), *b.istiod(ready=False)], Verdict.FAIL,
                 "istio-system/istiod, which has no ready pod", id="istiod-not-ready"),
    pytest.param([UNLABELLED, b.injector_webhooks()], Verdict.FAIL,
                 "istio-system/istiod, which is absent", id="istiod-service-absent"),
    pytest.param([CANARY_NS, *DEFAULT_CP], Verdict.FAIL, "(revision canary)",
                 id="revision-not-installed"),
    pytest.param([CANARY_NS, b.injector_webhooks("canary"), *b.istiod("canary")], Verdict.PASS,
                 "istiod-canary-", id="revision-installed"),
    pytest.param([UNLABELLED, b.injector_webhooks("canary", tag="default"), *b.istiod("canary")],
                 Verdict.PASS, "istio-revision-tag-default", id="default-tag-to-canary"),
    pytest.param([UNLABELLED, b.injector_webhooks(url="https://istiod.remote:15017/inject")],
                 Verdict.UNKNOWN, "remote istiod", id="remote-istiod"),
]  # fmt: skip


@pytest.mark.parametrize(("objs", "verdict", "reason"), CONTROL_PLANE)
def test_control_plane_ready(objs: list[RawObject], verdict: Verdict, reason: str) -> None:
    plain = b.workload_pod("checkout", proxy=None)
    result = CHECKS["control-plane-ready"](kubelet.snapshot_of(SVC, plain, *objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


def test_a_pod_that_opts_out_is_not_injected_by_any_control_plane() -> None:
    opted_out = b.workload_pod("checkout", proxy=None, labels={"sidecar.istio.io/inject": "false"})
    snapshot = kubelet.snapshot_of(SVC, opted_out, UNLABELLED, *DEFAULT_CP)
    assert CHECKS["control-plane-ready"](snapshot, SHOP).verdict is Verdict.FAIL


STAR = [
    pytest.param(SVC, cert_for("shop.example.com"), Verdict.UNKNOWN, "serves host `*`",
                 id="star-host-undeclared"),
    pytest.param(INGRESS_SVC, cert_for("shop.example.com"), Verdict.PASS, "shop.example.com",
                 id="star-host-declared-covered"),
    pytest.param(INGRESS_SVC, cert_for("www.example.com"), Verdict.FAIL,
                 "does not cover shop.example.com", id="star-host-declared-not-covered"),
]  # fmt: skip


@pytest.mark.parametrize(("svc", "cert", "verdict", "reason"), STAR)
def test_a_catch_all_gateway_host_is_checked_for_the_declared_hosts(
    svc: RawObject, cert: RawObject, verdict: Verdict, reason: str
) -> None:
    objs = [NS, svc, POD, INGRESS_POD, gateway(https(["*"])), route(["*"]), SECRET, cert]
    result = CHECKS["certificates-ready"](kubelet.snapshot_of(*objs), SHOP)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason
