"""Every rendered overlay grants exactly what meshgate's reader and writer use: no more, no less.

Each overlay of deploy/ is rendered with `kubectl kustomize`; meshgate then runs with that
overlay's settings (the Secret namespaces, read-only or not) against the Kubernetes API
stand-in: a full read, and every phase change (dry run, apply, rollback) unless read-only.
Each request is mapped to its RBAC (namespace, group, resource, verb) and checked against the
Roles and ClusterRoles bound to meshgate's ServiceAccount, so a new API call without a rule
fails here, and so does a rule nothing uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from bot.settings import Settings
from tests.support import deploy, kube_fixtures
from tests.support.clusters import one_service_cluster
from workflows.changes import actions
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

CHANGES = [
    PhaseChange(kind=ChangeKind.SIDECAR_INJECTION),
    PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT"),
    PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, dry_run=True),
    PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, deny_by_default=True),
]
# (namespace or None for cluster-wide, apiGroup, resource, verb)
Permission = tuple[str | None, str, str, str]
OVERLAYS = [k for k in deploy.kustomizations() if deploy.of_kind(deploy.render(k), "Deployment")]


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
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]  # namespaced: drop namespaces/<ns>
    resource, named = rest[0], len(rest) > 1
    verbs = {"GET": "get" if named else "list", "PATCH": "patch", "DELETE": "delete",
             "POST": "create", "PUT": "update"}  # fmt: skip
    return namespace, group, resource, verbs[method]


def granted(objects: tuple[dict[str, Any], ...]) -> set[Permission]:
    rules: set[Permission] = set()
    for where, rule in deploy.bound_rules(objects):
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                rules.update((where, group, resource, verb) for verb in rule["verbs"])
    return rules


def allows(grants: set[Permission], need: Permission) -> bool:
    where, group, resource, verb = need
    return (None, group, resource, verb) in grants or (where, group, resource, verb) in grants


def requests_of_meshgate(api_url: str, settings: Settings) -> None:
    """Run a read and (unless read-only) every phase change; the permissions they needed."""
    service = ServiceRef("shop", "checkout")
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with LiveClusterReader.for_host(
        api_url, secret_namespaces=settings.secret_namespaces
    ) as reader:
        snapshot = reader.snapshot()
        assert not snapshot.errors
        if settings.read_only:
            return
        with KubeWriter.for_host(api_url) as writer:
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


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[str(o) for o in OVERLAYS])
def test_each_overlay_grants_exactly_the_requests_meshgate_makes(
    overlay: Path, kube_api_factory: kube_fixtures.KubeApiFactory
) -> None:
    rendered = deploy.render(overlay)
    settings = Settings.model_validate(
        {k.removeprefix("MESHGATE_").lower(): v for k, v in deploy.settings(rendered).items()}
    )
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
    requests_of_meshgate(api.url, settings)

    needed = {p for method, path, _ in api.statuses if (p := permission(method, path))}
    rules = granted(rendered)
    forbidden = {p for p in needed if not allows(rules, p)}
    assert forbidden == set(), f"requests meshgate makes that deploy/{overlay} forbids"
    # `create` is never a POST here (server-side apply creates through PATCH), but the API
    # server still checks it when an apply creates the object, so it is rightly granted.
    applied_creates = {
        (None, "security.istio.io", r, "create")
        for r in ("peerauthentications", "authorizationpolicies")
    }
    unused = {g for g in rules - applied_creates if not any(allows({g}, p) for p in needed)}
    assert unused == set(), f"deploy/{overlay} grants what nothing uses (least privilege)"


def test_no_overlay_grants_secrets_cluster_wide() -> None:
    for overlay in deploy.kustomizations():
        rendered = deploy.render(overlay)
        cluster_wide = [
            rule
            for where, rule in deploy.bound_rules(rendered)
            if where is None and "secrets" in rule["resources"]
        ]
        assert cluster_wide == [], f"deploy/{overlay} lets meshgate read Secrets everywhere"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[str(o) for o in OVERLAYS])
def test_secret_roles_are_in_exactly_the_namespaces_meshgate_reads(overlay: Path) -> None:
    rendered = deploy.render(overlay)
    named = set(deploy.settings(rendered)["MESHGATE_SECRET_NAMESPACES"].split(","))
    readable = {
        where for where, rule in deploy.bound_rules(rendered) if "secrets" in rule["resources"]
    }
    assert readable == named
