"""Regressions against a baseline audit: the right kinds, and one cause for one change."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.audit import auditing as audit
from workflows.audit.report import BaselineInvalid
from workflows.mesh.snapshot import Kind, RawObject

SERVICES = (("shop", "checkout"), ("shop", "cart"), ("billing", "invoice"))
MESH_STRICT = b.peer_authentication("default", "istio-system", "STRICT")
CALLERS = {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]}


def allow_callers(ns: str, **options: object) -> RawObject:
    return b.authorization_policy(
        "allow-callers", ns, spec={"rules": [CALLERS]}, dry_run=bool(options.get("dry_run"))
    )


def mesh(
    *,
    peer: list[RawObject] | None = None,
    policies: list[RawObject] | None = None,
    uninjected: str | None = None,
    two_ports: bool = False,
) -> list[RawObject]:
    """Three services in two namespaces; `uninjected` names a namespace whose label is gone
    and whose pods restarted without a sidecar."""
    containers = [{"name": "app", "ports": [{"containerPort": 8080}, {"containerPort": 9090}]}]
    ports = [{"name": "http", "port": 80, "targetPort": 8080}]
    if two_ports:
        ports.append({"name": "grpc", "port": 90, "targetPort": 9090})
    objs: list[RawObject] = [*(peer if peer is not None else [MESH_STRICT])]
    objs += policies if policies is not None else [allow_callers("shop"), allow_callers("billing")]
    for ns in ("shop", "billing"):
        objs.append(b.namespace(ns) if ns == uninjected else b.injected_namespace(ns))
    for ns, name in SERVICES:
        objs.append(b.service(name, ns, ports=ports))
        proxy = None if ns == uninjected else "ready"
        objs.append(b.workload_pod(name, ns, proxy=proxy, containers=containers))
    return objs


def _baseline() -> dict[str, object]:
    report = audit.audit(snapshot=kubelet.snapshot_of(*mesh(two_ports=True)))
    data: dict[str, object] = json.loads(json.dumps(report.to_data()))  # as read from a file
    return data


Change = Callable[[], list[RawObject]]
PERMISSIVE_MESH = b.peer_authentication("default", "istio-system", "PERMISSIVE")
ALL_THREE = ["billing/invoice", "shop/cart", "shop/checkout"]

CASES = [
    pytest.param(
        lambda: mesh(peer=[PERMISSIVE_MESH], two_ports=True),
        {("mtls_weakened", s, "PeerAuthentication istio-system/default") for s in ALL_THREE},
        id="mesh-policy-strict-to-permissive-one-cause",
    ),
    pytest.param(
        lambda: mesh(peer=[], two_ports=True),
        {
            ("mtls_weakened", s, "no PeerAuthentication in istio-system (Istio default PERMISSIVE)")
            for s in ALL_THREE
        },
        id="mesh-policy-deleted-one-cause",
    ),
    pytest.param(
        lambda: mesh(
            peer=[MESH_STRICT, b.peer_authentication("default", "shop", "DISABLE")], two_ports=True
        ),
        {
            ("mtls_weakened", "shop/cart", "PeerAuthentication shop/default"),
            ("mtls_weakened", "shop/checkout", "PeerAuthentication shop/default"),
        },
        id="namespace-policy-added",
    ),
    pytest.param(
        lambda: mesh(uninjected="shop", two_ports=True),
        {
            ("sidecar_missing", "shop/cart", "Namespace shop"),
            ("sidecar_missing", "shop/checkout", "Namespace shop"),
            ("mtls_weakened", "shop/cart", "Namespace shop"),
            ("mtls_weakened", "shop/checkout", "Namespace shop"),
        },
        id="injection-label-removed",
    ),
    pytest.param(
        lambda: mesh(policies=[allow_callers("billing")], two_ports=True),
        {
            ("default_deny_removed", "shop/cart", "AuthorizationPolicy shop/allow-callers"),
            ("default_deny_removed", "shop/checkout", "AuthorizationPolicy shop/allow-callers"),
        },
        id="allow-policy-deleted",
    ),
    pytest.param(
        lambda: mesh(
            policies=[allow_callers("shop", dry_run=True), allow_callers("billing")], two_ports=True
        ),
        {
            (kind, s, "AuthorizationPolicy shop/allow-callers")
            for kind in ("default_deny_removed", "policy_unenforced")
            for s in ("shop/cart", "shop/checkout")
        },
        id="policy-put-in-dry-run",
    ),
    pytest.param(
        lambda: mesh(
            policies=[
                allow_callers("shop"),
                allow_callers("billing"),
                b.authorization_policy("open", "billing", spec={"rules": [{}]}),
            ],
            two_ports=True,
        ),
        {("allow_broadened", "billing/invoice", "AuthorizationPolicy billing/open")},
        id="allow-all-added",
    ),
    pytest.param(
        lambda: mesh(
            policies=[
                allow_callers("shop"),
                b.authorization_policy(
                    "allow-callers",
                    "billing",
                    spec={"rules": [{"from": [{"source": {"principals": ["*"]}}]}]},
                ),
            ],
            two_ports=True,
        ),
        {("allow_broadened", "billing/invoice", "AuthorizationPolicy billing/allow-callers")},
        id="wildcard-principal-added",
    ),
    pytest.param(lambda: mesh(two_ports=True), set(), id="nothing-changed"),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_regressions_and_their_causes(change: Change, expected: set[tuple[str, str, str]]) -> None:
    report = audit.audit(snapshot=kubelet.snapshot_of(*change()), baseline=_baseline())
    assert {(r.kind.value, r.service, r.cause) for r in report.regressions} == expected


def test_mesh_wide_change_is_one_cause_with_before_and_after() -> None:
    report = audit.audit(
        snapshot=kubelet.snapshot_of(*mesh(peer=[PERMISSIVE_MESH], two_ports=True)),
        baseline=_baseline(),
    )
    data = report.to_data()["regressions"]
    assert {r["cause"] for r in data} == {"PeerAuthentication istio-system/default"}
    assert data[0] == {
        "kind": "mtls_weakened",
        "service": "billing/invoice",
        "before": "STRICT",
        "after": "PERMISSIVE",
        "cause": "PeerAuthentication istio-system/default",
    }


def test_one_port_weakened_names_the_port() -> None:
    baseline = _baseline()
    # Make the baseline's checkout already PERMISSIVE on 8080, so only 9090's drop is news.
    checkout = next(s for s in baseline["services"] if s["service"] == "shop/checkout")  # type: ignore[attr-defined]
    checkout["mtls"] = {"mode": "PERMISSIVE", "ports": {"8080": "PERMISSIVE", "9090": "STRICT"}}
    both = b.peer_authentication(
        "checkout",
        "shop",
        None,
        selector={"app": "checkout"},
        ports={8080: "PERMISSIVE", 9090: "PERMISSIVE"},
    )
    report = audit.audit(
        snapshot=kubelet.snapshot_of(*mesh(peer=[MESH_STRICT, both], two_ports=True)),
        baseline=baseline,
    )
    (regression,) = report.regressions
    assert (regression.port, regression.before, regression.after) == (9090, "STRICT", "PERMISSIVE")
    assert regression.cause == "PeerAuthentication shop/checkout"


def test_unknown_now_is_not_a_regression() -> None:
    snapshot = kubelet.snapshot_of(
        *mesh(peer=[PERMISSIVE_MESH], two_ports=True),
        errors={Kind.PEER_AUTHENTICATION: "timeout"},
    )
    report = audit.audit(snapshot=snapshot, baseline=_baseline())
    assert {s.mtls.mode.value for s in report.services} == {"UNKNOWN"}
    assert not [r for r in report.regressions if r.kind.value == "mtls_weakened"]


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        pytest.param({"schema": "other/v1"}, "schema is 'other/v1'", id="wrong-schema"),
        pytest.param({"services": []}, "schema is None", id="no-schema"),
        pytest.param(
            {"schema": "meshgate.audit/v1", "services": [{"service": "a/b"}]},
            "services.0.sidecar",
            id="missing-fields",
        ),
    ],
)
def test_bad_baseline_says_what_is_wrong(baseline: dict[str, object], message: str) -> None:
    with pytest.raises(BaselineInvalid, match=message.replace(".", r"\.")):
        audit.audit(snapshot=kubelet.snapshot_of(*mesh()), baseline=baseline)
