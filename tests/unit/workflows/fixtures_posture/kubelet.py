"""A stand-in for the Deployment controller and the kubelet: pods from Deployments.

Manifest folders (Istio's samples) hold Deployments, not pods; a cluster would run them. These
builders make the pods a cluster would show: owned by a ReplicaSet named
`<deployment>-<pod-template-hash>`, labelled from the template, Running and Ready, with an
`istio-proxy` container when injected.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

TEMPLATE_HASH = "5d8f7c9b6"


def pod(
    *,
    name: str,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    owner: tuple[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    proxy: str | None = "ready",
    native_proxy: bool = False,
    phase: str = "Running",
    ready: bool = True,
    annotations: dict[str, str] | None = None,
    host_network: bool = False,
    run_as_user: int | None = None,
) -> RawObject:
    """One pod; `proxy` is "ready", "not-ready" or None (no istio-proxy)."""
    app_containers = copy.deepcopy(containers) or [
        {"name": "app", "image": "app:1", "ports": [{"containerPort": 8080, "name": "http"}]}
    ]
    spec: dict[str, Any] = {"containers": app_containers}
    statuses = [{"name": c["name"], "ready": ready} for c in app_containers]
    init_statuses: list[dict[str, Any]] = []
    if proxy is not None:
        proxy_container = {"name": "istio-proxy", "image": "proxyv2:1.30"}
        if native_proxy:
            spec["initContainers"] = [{**proxy_container, "restartPolicy": "Always"}]
            init_statuses.append({"name": "istio-proxy", "ready": proxy == "ready"})
        else:
            spec["containers"] = [*app_containers, proxy_container]
            statuses.append({"name": "istio-proxy", "ready": proxy == "ready"})
    if host_network:
        spec["hostNetwork"] = True
    if run_as_user is not None:
        spec["securityContext"] = {"runAsUser": run_as_user}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}
        ]
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": statuses,
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def pods_for(
    deployments: Iterable[RawObject], *, injected: bool = True, namespace: str | None = None
) -> list[RawObject]:
    """One running, ready pod per Deployment, as the cluster would run it."""
    pods = []
    for deployment in deployments:
        if deployment.get("kind") != "Deployment":
            continue
        meta = deployment["metadata"]
        template = deployment["spec"]["template"]
        labels = {**template["metadata"].get("labels", {}), "pod-template-hash": TEMPLATE_HASH}
        replica_set = f"{meta['name']}-{TEMPLATE_HASH}"
        pods.append(
            pod(
                name=f"{replica_set}-x7k2p",
                namespace=namespace or meta.get("namespace", "default"),
                labels=labels,
                owner=("ReplicaSet", replica_set),
                containers=template["spec"]["containers"],
                proxy="ready" if injected else None,
            )
        )
    return pods


def with_objects(snapshot: ClusterSnapshot, *extra: RawObject) -> ClusterSnapshot:
    """The snapshot plus more objects, filed under their kinds."""
    objects = {kind: list(items) for kind, items in snapshot.objects.items()}
    for obj in extra:
        objects.setdefault(Kind(obj["kind"]), []).append(obj)
    return ClusterSnapshot(
        objects={k: tuple(v) for k, v in objects.items()},
        errors=snapshot.errors,
        unserved=snapshot.unserved,
        istio_namespace=snapshot.istio_namespace,
        source=snapshot.source,
    )


def snapshot_of(*objs: RawObject, errors: dict[Kind, str] | None = None) -> ClusterSnapshot:
    """A snapshot holding exactly these objects."""
    return with_objects(ClusterSnapshot(errors=errors or {}, source="test"), *objs)
