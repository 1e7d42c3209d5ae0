"""Phase actions: the objects each change builds, and that Istio's CRD schemas accept them.

Schemas: the openAPIV3Schema of the served version of each CRD in
reference/istio/crd-all.gen.yaml (istio/istio 1.30.3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest

from tests.support import reference
from tests.support.kube_api import load_crd_schemas
from workflows.changes import actions
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

CRDS = reference.ISTIO / "crd-all.gen.yaml"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CHECKOUT = ServiceRef(namespace="shop", name="checkout")
CALLERS = ["cluster.local/ns/shop/sa/web", "cluster.local/ns/shop/sa/api"]


@pytest.fixture(scope="module")
def schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    return load_crd_schemas(CRDS)


def _workload(kind: str, name: str, labels: dict[str, str], namespace: str = "shop") -> RawObject:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": []}},
        },
    }


def _snapshot(
    *, namespace_labels: dict[str, str] | None = None, selector: dict[str, str] | None = None
) -> ClusterSnapshot:
    return ClusterSnapshot(
        objects={
            Kind.NAMESPACE: (
                {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "shop", "labels": namespace_labels or {}}},
            ),
            Kind.SERVICE: (
                {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "checkout", "namespace": "shop"},
                 "spec": {"selector": {"app": "checkout"} if selector is None else selector,
                          "ports": [{"port": 80, "name": "http"}]}},
            ),
            Kind.DEPLOYMENT: (
                _workload("Deployment", "checkout-v1", {"app": "checkout", "version": "v1"}),
                _workload("Deployment", "cart", {"app": "cart"}),
                _workload("Deployment", "checkout-elsewhere", {"app": "checkout"}, "other"),
            ),
            Kind.STATEFULSET: (_workload("StatefulSet", "checkout-db", {"app": "checkout"}),),
        }
    )  # fmt: skip


def _build(change: PhaseChange, **overrides: Any) -> list[actions.PlannedObject]:
    args: dict[str, Any] = {
        "service": CHECKOUT,
        "snapshot": _snapshot(),
        "callers": CALLERS,
        "now": NOW,
    }
    args.update(overrides)
    return actions.objects_for(change, **args)


CHANGES = {
    "permissive": PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="PERMISSIVE"),
    "strict": PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT"),
    "rbac-dry-run": PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, dry_run=True),
    "rbac": PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, deny_by_default=True),
    "inject": PhaseChange(kind=ChangeKind.SIDECAR_INJECTION),
}


@pytest.mark.parametrize(("mode"), ["PERMISSIVE", "STRICT"])
def test_peer_authentication_targets_the_service_pods_with_the_mode(mode: str) -> None:
    (planned,) = _build(PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode=mode))
    assert planned.ref == "PeerAuthentication shop/meshgate-checkout"
    assert planned.body["spec"] == {
        "selector": {"matchLabels": {"app": "checkout"}},
        "mtls": {"mode": mode},
    }
    assert planned.body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "meshgate"}
    assert planned.whole and planned.force


def test_dry_run_allow_list_is_annotated_and_lists_callers_sorted() -> None:
    (planned,) = _build(CHANGES["rbac-dry-run"], callers=[*CALLERS, CALLERS[0], " "])
    assert planned.body["metadata"]["annotations"]["istio.io/dry-run"] == "true"
    assert planned.body["spec"]["action"] == "ALLOW"
    assert planned.body["spec"]["rules"] == [
        {"from": [{"source": {"principals": sorted(set(CALLERS))}}]}
    ]


def test_enforced_allow_list_has_no_dry_run_and_comes_with_deny_by_default() -> None:
    allow, deny = _build(CHANGES["rbac"])
    assert "istio.io/dry-run" not in allow.body["metadata"]["annotations"]
    assert allow.name == "meshgate-checkout"
    assert deny.name == "meshgate-checkout-deny-by-default"
    # Istio's allow-nothing: ALLOW with a selector and no rules.
    assert deny.body["spec"] == {
        "selector": {"matchLabels": {"app": "checkout"}},
        "action": "ALLOW",
    }


def test_enforced_allow_list_without_deny_by_default_is_one_policy() -> None:
    planned = _build(PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY))
    assert [p.name for p in planned] == ["meshgate-checkout"]


@pytest.mark.parametrize(
    ("change", "callers", "message"),
    [
        pytest.param("rbac", [], "deny every request", id="enforced-empty"),
        pytest.param("rbac", ["*"], "every mTLS caller", id="wildcard"),
        pytest.param("rbac-dry-run", ["*"], "every mTLS caller", id="wildcard-dry-run"),
    ],
)
def test_allow_list_refuses_lists_that_would_deny_or_allow_everyone(
    change: str, callers: list[str], message: str
) -> None:
    with pytest.raises(actions.ActionError, match=message):
        _build(CHANGES[change], callers=callers)


def test_dry_run_allow_list_with_no_callers_is_allowed_and_has_no_rules() -> None:
    (planned,) = _build(CHANGES["rbac-dry-run"], callers=[])
    assert "rules" not in planned.body["spec"]


def test_injection_labels_the_namespace_and_restarts_the_selected_workloads() -> None:
    planned = _build(CHANGES["inject"])
    assert [p.ref for p in planned] == [
        "Namespace shop",
        "Deployment shop/checkout-v1",
        "StatefulSet shop/checkout-db",
    ]
    label, restart, _ = planned
    assert label.body["metadata"]["labels"] == {"istio-injection": "enabled"}
    assert not label.whole and not label.force
    annotations = restart.body["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"kubectl.kubernetes.io/restartedAt": "2026-11-25T10:00:00Z"}


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param({"istio-injection": "enabled"}, id="already-enabled"),
        pytest.param({"istio.io/rev": "canary"}, id="revision-label"),
    ],
)
def test_injection_skips_the_label_when_the_namespace_already_injects(
    labels: dict[str, str],
) -> None:
    planned = _build(CHANGES["inject"], snapshot=_snapshot(namespace_labels=labels))
    assert [p.kind for p in planned] == ["Deployment", "StatefulSet"]


def test_restart_timestamp_is_the_given_now_in_utc() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=2)))
    _, restart, _ = _build(CHANGES["inject"], now=local)
    annotations = restart.body["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"] == "2026-11-25T10:00:00Z"


def test_naive_now_is_refused() -> None:
    with pytest.raises(actions.ActionError, match="timezone"):
        _build(CHANGES["inject"], now=datetime(2026, 11, 25, 10, 0))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"service": ServiceRef("shop", "gone")}, "not in the cluster", id="missing"),
        pytest.param({"snapshot": _snapshot(selector={})}, "no selector", id="no-selector"),
    ],
)
def test_changes_that_cannot_target_pods_are_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(actions.ActionError, match=message):
        _build(CHANGES["strict"], **overrides)


@pytest.mark.parametrize("change", sorted(CHANGES), ids=sorted(CHANGES))
@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_every_istio_object_validates_against_the_crd_schema(
    change: str, version: str, schemas: dict[tuple[str, str, str], dict[str, Any]]
) -> None:
    checked = 0
    for planned in _build(CHANGES[change]):
        group, _, _ = planned.api_version.partition("/")
        if group != "security.istio.io":
            continue
        body = {**planned.body, "apiVersion": f"{group}/{version}"}
        jsonschema.validate(body, schemas[(group, version, planned.kind)])
        checked += 1
    assert checked or change == "inject"


def test_the_schema_check_can_fail(schemas: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    (planned,) = _build(CHANGES["strict"])
    broken = {**planned.body, "spec": {"mtls": {"mode": "SOMETIMES"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schemas[("security.istio.io", "v1", "PeerAuthentication")])
