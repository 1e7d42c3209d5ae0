"""Authorization posture per workload, with Istio's AuthorizationPolicy semantics and tasks.

Expected outcomes from istio/api security/v1beta1/authorization_policy.proto and the tasks
"HTTP Traffic" (reference/istio/tasks/authz-http.yaml) and "Dry Run"
(reference/istio/tasks/authz-dry-run.yaml).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh import posture
from workflows.mesh.authz import DefaultDecision
from workflows.mesh.snapshot import Kind, RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
APP = {"matchLabels": {"app": "checkout"}}
GET = {"to": [{"operation": {"methods": ["GET"]}}]}
FROM_FRONTEND = {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/frontend"]}}]}


def _assess(
    *policies: RawObject, mtls: str = "STRICT", errors: dict[Kind, str] | None = None
) -> Any:
    snapshot = kubelet.snapshot_of(
        b.injected_namespace("shop"),
        b.service("checkout"),
        b.workload_pod("checkout"),
        b.peer_authentication("default", "istio-system", mtls),
        *policies,
        errors=errors,
    )
    return posture.assess(snapshot=snapshot, service=SHOP)


def ap(name: str, ns: str = "shop", **spec: Any) -> RawObject:
    dry_run = bool(spec.pop("dry_run", False))
    return b.authorization_policy(name, ns, spec=spec, dry_run=dry_run)


RULES = [
    pytest.param([], "allow", False, {"MG203"}, id="no-policy-allows-everything"),
    pytest.param([ap("allow-nothing")], "deny", False, set(), id="empty-spec-is-allow-nothing"),
    pytest.param([ap("all", rules=[{}])], "deny", True, {"MG202"}, id="empty-rule-is-allow-all"),
    pytest.param(
        [ap("all", rules=[{"to": [{"operation": {"methods": ["*"], "paths": ["*"]}}]}])],
        "deny",
        True,
        {"MG202"},
        id="wildcard-operation-is-allow-all",
    ),
    pytest.param([ap("get", selector=APP, rules=[GET])], "deny", False, set(), id="get-only"),
    pytest.param(
        [ap("any-identity", selector=APP, rules=[{"from": [{"source": {"principals": ["*"]}}]}])],
        "deny",
        False,
        {"MG201"},
        id="wildcard-principal",
    ),
    pytest.param(
        [ap("shadow", selector=APP, rules=[GET], dry_run=True)],
        "allow",
        False,
        {"MG206", "MG203"},
        id="dry-run-allow-not-enforced",
    ),
    pytest.param(
        [ap("audit", selector=APP, action="AUDIT", rules=[GET])],
        "allow",
        False,
        {"MG207", "MG203"},
        id="audit-not-enforced",
    ),
    pytest.param(
        [
            ap(
                "deny-delete",
                action="DENY",
                rules=[{"to": [{"operation": {"methods": ["DELETE"]}}]}],
            )
        ],
        "allow",
        False,
        {"MG203"},
        id="deny-policy-is-not-default-deny",
    ),
    pytest.param(
        [ap("mesh-allow-nothing", "istio-system")],
        "deny",
        False,
        set(),
        id="root-namespace-policy-is-mesh-wide",
    ),
    pytest.param(
        [ap("root-selected", "istio-system", selector=APP, rules=[GET])],
        "deny",
        False,
        set(),
        id="root-namespace-selector-applies-across-namespaces",
    ),
    pytest.param([ap("elsewhere", "payments")], "allow", False, {"MG203"}, id="other-namespace"),
    pytest.param(
        [ap("typo", selector={"matchLabels": {"app": "checkuot"}}, rules=[GET])],
        "allow",
        False,
        {"MG203", "MG208"},
        id="selector-matching-no-pod",
    ),
    pytest.param(
        [ap("gateway-only", targetRefs=[{"kind": "Gateway", "name": "ingress"}])],
        "allow",
        False,
        {"MG203"},
        id="target-ref-binds-gateways-not-sidecars",
    ),
]


@pytest.mark.parametrize(("policies", "default", "allow_all", "codes"), RULES)
def test_authorization_posture(
    policies: list[RawObject], default: str, allow_all: bool, codes: set[str]
) -> None:
    result = _assess(*policies)
    assert result.authz_default == DefaultDecision(default)
    assert result.allow_all is allow_all
    found = {f.code for f in result.findings if f.code.startswith("MG2")}
    assert found == codes


IDENTITY = [
    pytest.param(
        ap("deny-frontend", action="DENY", rules=[FROM_FRONTEND]),
        "PERMISSIVE",
        "MG204",
        id="deny-bypassed",
    ),
    pytest.param(
        ap("deny-frontend", action="DENY", rules=[FROM_FRONTEND]), "STRICT", None, id="deny-strict"
    ),
    pytest.param(
        ap(
            "deny-ns",
            action="DENY",
            rules=[{"when": [{"key": "source.namespace", "values": ["legacy"]}]}],
        ),
        "PERMISSIVE",
        "MG204",
        id="deny-when-source-namespace",
    ),
    pytest.param(
        ap(
            "deny-plaintext",
            action="DENY",
            rules=[{"from": [{"source": {"notPrincipals": ["*"]}}]}],
        ),
        "PERMISSIVE",
        None,
        id="deny-not-principals-is-the-fix",
    ),
    pytest.param(
        ap("allow-ns", rules=[{"from": [{"source": {"namespaces": ["shop"]}}]}]),
        "PERMISSIVE",
        "MG205",
        id="allow-by-namespace-refuses-plaintext",
    ),
    pytest.param(ap("allow-frontend", rules=[FROM_FRONTEND]), "STRICT", None, id="allow-strict"),
]


@pytest.mark.parametrize(("policy", "mtls", "code"), IDENTITY)
def test_identity_rules_while_mtls_is_not_strict(
    policy: RawObject, mtls: str, code: str | None
) -> None:
    found = {f.code for f in _assess(policy, mtls=mtls).findings} & {"MG204", "MG205"}
    assert found == ({code} if code else set())


def test_a_workload_without_allow_policy_makes_the_service_allow() -> None:
    snapshot = kubelet.snapshot_of(
        b.injected_namespace("shop"),
        b.service("checkout"),
        b.workload_pod("checkout", version="v1"),
        b.workload_pod("checkout", version="v2"),
        b.authorization_policy(
            "v1-only", "shop", spec={"selector": {"matchLabels": {"version": "v1"}}, "rules": [GET]}
        ),
    )
    result = posture.assess(snapshot=snapshot, service=SHOP)
    assert result.authz_default is DefaultDecision.ALLOW
    assert result.policies == ("shop/v1-only",)
    assert [f.objects for f in result.findings if f.code == "MG203"] == [
        ("Deployment shop/checkout-v2",)
    ]


def test_unreadable_policies_make_the_default_unknown() -> None:
    result = _assess(ap("allow-nothing"), errors={Kind.AUTHORIZATION_POLICY: "500 internal error"})
    assert result.authz_default is DefaultDecision.UNKNOWN
    assert not [f for f in result.findings if f.code == "MG203"]


# Istio task "HTTP Traffic" on Bookinfo in namespace default.
BOOKINFO = ("productpage", "details", "reviews", "ratings")


def _bookinfo(policies: list[RawObject]) -> dict[str, Any]:
    objs: list[RawObject] = [b.injected_namespace("default"), *policies]
    objs.append(b.peer_authentication("default", "istio-system", "STRICT"))
    for app in BOOKINFO:
        objs.append(b.service(app, "default", ports=[{"name": "http", "port": 9080}]))
        objs.append(b.workload_pod(app, "default"))
    snapshot = kubelet.snapshot_of(*objs)
    return {
        app: posture.assess(snapshot=snapshot, service=ServiceRef("default", app))
        for app in BOOKINFO
    }


def test_istio_task_authz_http_allow_nothing_denies_every_workload() -> None:
    allow_nothing = b.reference_docs("tasks/authz-http.yaml")[0]
    result = _bookinfo([allow_nothing])
    # Istio: "you should see RBAC: access denied" for every page: deny by default, nothing allowed.
    for app in BOOKINFO:
        assert result[app].authz_default is DefaultDecision.DENY, app
        assert result[app].allow_all is False
        assert result[app].policies == ("default/allow-nothing",)


def test_istio_task_authz_http_viewers_keep_default_deny_and_name_their_callers() -> None:
    docs = b.reference_docs("tasks/authz-http.yaml")
    result = _bookinfo(docs)
    assert result["details"].policies == ("default/allow-nothing", "default/details-viewer")
    assert result["ratings"].policies == ("default/allow-nothing", "default/ratings-viewer")
    for app in BOOKINFO:
        assert result[app].authz_default is DefaultDecision.DENY
        assert result[app].allow_all is False
        # Rules name principals; with STRICT mTLS they work, so no MG201/MG204/MG205.
        assert not {f.code for f in result[app].findings} & {"MG201", "MG204", "MG205"}


def test_istio_task_authz_http_principal_rules_need_strict() -> None:
    docs = b.reference_docs("tasks/authz-http.yaml")
    objs: list[RawObject] = [b.injected_namespace("default"), *docs]
    objs += [b.service("details", "default", ports=[{"name": "http", "port": 9080}])]
    objs += [b.workload_pod("details", "default")]
    result = posture.assess(
        snapshot=kubelet.snapshot_of(*objs), service=ServiceRef("default", "details")
    )
    mg205 = [f for f in result.findings if f.code == "MG205"]
    assert mg205 and "AuthorizationPolicy default/details-viewer" in mg205[0].objects


def test_istio_task_authz_dry_run_does_not_enforce() -> None:
    (policy,) = b.reference_docs("tasks/authz-dry-run.yaml")
    snapshot = kubelet.snapshot_of(
        b.injected_namespace("foo"),
        b.service("httpbin", "foo", ports=[{"name": "http", "port": 8000, "targetPort": 8080}]),
        b.workload_pod("httpbin", "foo"),
        policy,
    )
    result = posture.assess(snapshot=snapshot, service=ServiceRef("foo", "httpbin"))
    # Istio: with the dry-run annotation, requests to /headers still return 200.
    assert result.policies == ("foo/deny-path-headers",)
    assert result.authz_default is DefaultDecision.ALLOW
    dry = [f for f in result.findings if f.code == "MG206"]
    assert dry and dry[0].objects == ("AuthorizationPolicy foo/deny-path-headers",)
