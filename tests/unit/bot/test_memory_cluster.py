"""The in-memory demo cluster: it takes meshgate's changes and gives them back on rollback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.kube.memory import MemoryCluster
from tests.support.contexts import DEMO_MESH
from workflows.changes import actions
from workflows.mesh import sidecars
from workflows.mesh.snapshot import Kind
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
INJECT = PhaseChange(kind=ChangeKind.SIDECAR_INJECTION)
STRICT = PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT")


def proxies(cluster: MemoryCluster, pod: str) -> sidecars.ProxyState:
    found = cluster.snapshot().find(Kind.POD, namespace="shop", name=pod)
    assert found is not None
    return sidecars.proxy_state(found)


@pytest.mark.parametrize(
    ("service", "pod", "after"),
    [
        pytest.param("shop/reviews", "reviews-v3-7d4b9c-a", sidecars.ProxyState.NOT_READY,
                     id="the-demo-pod-whose-proxy-never-gets-ready"),
        pytest.param("shop/reviews", "reviews-v1-7d4b9c-a", sidecars.ProxyState.READY,
                     id="an-injected-pod-stays-ready"),
    ],
)  # fmt: skip
def test_a_restart_in_an_injecting_namespace_injects_the_pods(
    service: str, pod: str, after: sidecars.ProxyState
) -> None:
    cluster = MemoryCluster.from_manifests(DEMO_MESH)
    before = proxies(cluster, pod)
    plan = actions.objects_for(
        INJECT, service=ServiceRef.parse(service), snapshot=cluster.snapshot(), callers=(), now=NOW
    )
    records = cluster.apply(plan)
    assert proxies(cluster, pod) is after
    cluster.rollback(records)
    assert proxies(cluster, pod) is before


def test_apply_creates_a_policy_preview_shows_it_rollback_deletes_it() -> None:
    cluster = MemoryCluster.from_manifests(DEMO_MESH)
    service = ServiceRef.parse("shop/productpage")
    plan = actions.objects_for(
        STRICT, service=service, snapshot=cluster.snapshot(), callers=(), now=NOW
    )
    assert "+    mode: STRICT" in cluster.preview(plan)
    assert cluster.snapshot().find(Kind.PEER_AUTHENTICATION, namespace="shop",
                                   name="meshgate-productpage") is None  # fmt: skip
    lines = cluster.rollback(cluster.apply(plan))
    assert lines == ["deleted PeerAuthentication shop/meshgate-productpage"]
    assert cluster.snapshot().find(Kind.PEER_AUTHENTICATION, namespace="shop",
                                   name="meshgate-productpage") is None  # fmt: skip
