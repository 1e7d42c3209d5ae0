"""deploy/rbac.yaml grants exactly what meshgate's reader and writer use: no more, no less.

Every request a full read and every phase change (apply, then rollback) sends to the API
server is mapped to its RBAC (group, resource, verb) and checked against the ClusterRoles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from tests.support import kube_fixtures
from tests.support.clusters import one_service_cluster
from workflows.changes import actions
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
DISCOVERY = ("/api", "/apis")
CHANGES = [
    PhaseChange(kind=ChangeKind.SIDECAR_INJECTION),
    PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT"),
    PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, dry_run=True),
    PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, deny_by_default=True),
]
Permission = tuple[str, str, str]  # (apiGroup, resource, verb)


def permission(method: str, path: str) -> Permission | None:
    """The RBAC permission a request needs (None for discovery)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        if len(parts) <= 3:
            return None  # /apis, /apis/group, /apis/group/version: discovery
        group, rest = parts[1], parts[3:]
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]  # namespaced: drop namespaces/<ns>
    resource, named = rest[0], len(rest) > 1
    verbs = {"GET": "get" if named else "list", "PATCH": "patch", "DELETE": "delete",
             "POST": "create", "PUT": "update"}  # fmt: skip
    return group, resource, verbs[method]


def granted() -> set[Permission]:
    rules: set[Permission] = set()
    for doc in yaml.safe_load_all(RBAC.read_text()):
        if doc and doc["kind"] == "ClusterRole":
            for rule in doc["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        rules.update((group, resource, verb) for verb in rule["verbs"])
    return rules


def test_rbac_grants_exactly_the_requests_meshgate_makes(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    cluster = one_service_cluster()
    cluster[0]["metadata"]["labels"] = {}  # not injected yet: the inject phase labels it
    objects: list[dict[str, Any]] = [
        *cluster,
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "checkout", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}}, "spec": {}}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "checkout-db", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}}, "spec": {}}}},
    ]  # fmt: skip
    api = kube_api_factory(objects)
    service = ServiceRef("shop", "checkout")
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with LiveClusterReader.for_host(api.url) as reader, KubeWriter.for_host(api.url) as writer:
        snapshot = reader.snapshot()
        for change in CHANGES:
            planned = actions.objects_for(
                change,
                service=service,
                snapshot=snapshot,
                callers=["cluster.local/ns/shop/sa/web"],
                now=now,
            )
            writer.preview(planned)
            writer.rollback(writer.apply(planned))

    needed = {p for method, path, _ in api.statuses if (p := permission(method, path))}
    rules = granted()
    assert needed - rules == set(), "requests meshgate makes that deploy/rbac.yaml forbids"
    # `create` is never a POST here (server-side apply creates through PATCH), but the API
    # server still checks it when an apply creates the object, so it is rightly granted.
    applied_creates = {
        ("security.istio.io", r, "create") for r in ("peerauthentications", "authorizationpolicies")
    }
    assert rules - needed - applied_creates == set(), "grants nothing uses (least privilege)"
