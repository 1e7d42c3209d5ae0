"""Pre-flight refusals and the change-present line: a plan and a snapshot in, a verdict out.

Rows follow Istio's PeerAuthentication rules (istio.io concepts/security, "Peer
authentication"): among workload policies selecting a workload the oldest wins; a workload
policy overrides the namespace and mesh policies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.changes import actions, preflight, presence
from workflows.gates.verdicts import Verdict
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

SERVICE = ServiceRef.parse("shop/checkout")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OLD, NEW = "2025-01-01T00:00:00Z", "2026-11-25T09:00:00Z"


def peer(name: str, *, ns: str = "shop", mode: str, selector: dict[str, str] | None = None,
         created: str = OLD) -> dict[str, Any]:  # fmt: skip
    spec: dict[str, Any] = {"mtls": {"mode": mode}}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": spec}  # fmt: skip


def snapshot(*policies: dict[str, Any]) -> ClusterSnapshot:
    labels = {"app": "checkout", "version": "v1"}
    return ClusterSnapshot(
        objects={
            Kind.NAMESPACE: ({"kind": "Namespace", "metadata": {"name": "shop"}},),
            Kind.SERVICE: ({"kind": "Service",
                            "metadata": {"name": "checkout", "namespace": "shop"},
                            "spec": {"selector": {"app": "checkout"}}},),
            Kind.POD: ({"kind": "Pod", "metadata": {"name": "checkout-1", "namespace": "shop",
                                                    "labels": labels},
                        "status": {"phase": "Running"}},),
            Kind.PEER_AUTHENTICATION: policies,
        }
    )  # fmt: skip


def planned(mode: str, snap: ClusterSnapshot) -> list[actions.PlannedObject]:
    change = PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode=mode)
    return actions.objects_for(change, service=SERVICE, snapshot=snap, callers=(), now=NOW)


@pytest.mark.parametrize(
    ("mode", "policies", "says"),
    [
        pytest.param("STRICT", (), None, id="nothing-in-the-way"),
        pytest.param(
            "STRICT", (peer("legacy", mode="PERMISSIVE", selector={"app": "checkout"}),),
            "PeerAuthentication shop/legacy (mode PERMISSIVE) already selects",
            id="older-workload-policy-shadows",
        ),
        pytest.param(
            "STRICT", (peer("legacy", mode="PERMISSIVE", selector={"version": "v1"}),),
            "shop/legacy", id="other-labels-same-pods-shadow",
        ),
        pytest.param(
            "STRICT", (peer("other", mode="PERMISSIVE", selector={"app": "payments"}),),
            None, id="policy-for-other-pods",
        ),
        pytest.param(
            "STRICT", (peer("legacy", ns="bank", mode="PERMISSIVE", selector={"app": "checkout"}),),
            None, id="policy-in-another-namespace",
        ),
        pytest.param(
            "STRICT",
            (peer("meshgate-checkout", mode="PERMISSIVE", selector={"app": "checkout"}),
             peer("later", mode="DISABLE", selector={"app": "checkout"}, created=NEW)),
            None, id="meshgates-own-is-older-and-wins",
        ),
        pytest.param(
            "PERMISSIVE", (peer("default", mode="STRICT"),),
            "already gets STRICT mTLS from PeerAuthentication shop/default",
            id="namespace-strict-would-be-weakened",
        ),
        pytest.param(
            "PERMISSIVE", (peer("default", ns="istio-system", mode="STRICT"),),
            "from PeerAuthentication istio-system/default", id="mesh-strict-would-be-weakened",
        ),
        pytest.param(
            "PERMISSIVE",
            (peer("default", ns="istio-system", mode="STRICT"), peer("default", mode="PERMISSIVE")),
            None, id="namespace-overrides-mesh-strict",
        ),
        pytest.param(
            "PERMISSIVE", (peer("default", mode="UNSET"),), None, id="unset-inherits-permissive",
        ),
        pytest.param("STRICT", (peer("default", mode="STRICT"),), None, id="strict-over-strict"),
    ],
)  # fmt: skip
def test_preflight_refuses_a_change_that_would_not_take_effect(
    mode: str, policies: tuple[dict[str, Any], ...], says: str | None
) -> None:
    snap = snapshot(*policies)
    found = preflight.refusals(planned=planned(mode, snap), service=SERVICE, snapshot=snap)
    if says is None:
        assert found == []
    else:
        assert len(found) == 1 and says in found[0]


@pytest.mark.parametrize(
    ("live", "verdict", "says"),
    [
        pytest.param(None, Verdict.FAIL, "missing PeerAuthentication shop/meshgate-checkout",
                     id="missing"),
        pytest.param("STRICT", Verdict.PASS, "in the cluster as planned", id="as-planned"),
        pytest.param("PERMISSIVE", Verdict.FAIL, "not as planned: PeerAuthentication "
                     "shop/meshgate-checkout (spec.mtls.mode)", id="overwritten"),
    ],
)  # fmt: skip
def test_change_present_compares_the_plan_with_the_cluster(
    live: str | None, verdict: Verdict, says: str
) -> None:
    base = snapshot()
    plan = planned("STRICT", base)
    policies = (
        ()
        if live is None
        else (peer("meshgate-checkout", mode=live, selector={"app": "checkout"}),)
    )
    result = presence.check(planned=plan, snapshot=snapshot(*policies))
    assert result.verdict is verdict and says in result.reason


def test_change_present_is_unknown_when_it_cannot_be_read_or_built() -> None:
    unreadable = ClusterSnapshot(errors={Kind.PEER_AUTHENTICATION: "403 forbidden"})
    plan = planned("STRICT", snapshot())
    assert presence.check(planned=plan, snapshot=unreadable).verdict is Verdict.UNKNOWN
    unbuildable = actions.ActionError("no callers")
    assert presence.check(planned=unbuildable, snapshot=snapshot()).verdict is Verdict.UNKNOWN
