"""Egress: the external hosts a service declares, their ServiceEntries, and the outbound policy.

A Service declares the hosts outside the mesh it calls with `meshgate.io/external-hosts`
(`none` when it calls none). Without the annotation meshgate cannot tell what it calls, so the
`serviceentries-declared` check is `unknown`, not a pass. With it:

- each host needs a ServiceEntry visible from the service's namespace (`exportTo`) with
  `location: MESH_EXTERNAL` (the default), and imported by the `egress` hosts (`ns/host`, `.`
  for the Sidecar's namespace, `*` for any) of the Sidecar that scopes the pods, when it lists
  any; a MESH_INTERNAL entry says the host is in the mesh and is held to mTLS, so it does not
  declare an external host (MG404);
- ServiceEntries are an allow-list only under `REGISTRY_ONLY`. The effective mode of a pod is
  its Sidecar's `outboundTrafficPolicy`, else the mesh config's, else ALLOW_ANY. The Sidecar is
  picked as Istio does (pilot/pkg/model/push_context.go, doGetSidecarScope): one in the pod's
  namespace whose workloadSelector matches it, else the one there without a selector, else the
  root namespace's without a selector; oldest first (pilot/pkg/model/sidecar.go,
  convertToSidecarScope, for the fallback to the mesh config). Under ALLOW_ANY any host is
  reachable, declared or not (MG408).
"""

from __future__ import annotations

from collections.abc import Sequence

from workflows.mesh import findings, index, objects
from workflows.mesh.meshconfig import Outbound
from workflows.mesh.routing import (
    EXTERNAL_HOSTS_ANNOTATION,
    Outcome,
    declared_hosts,
    labels_of,
    wildcard_match,
)
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import selected_pods, service_selector

NONE_DECLARED = "none"
_MESH_INTERNAL = "MESH_INTERNAL"


def outbound_policy(
    *, snapshot: ClusterSnapshot, namespace: str, pod_labels: dict[str, str]
) -> tuple[Outbound, str]:
    """The outbound mode of a pod and what decided it (a Sidecar or the mesh config)."""
    sidecar = _sidecar_for(snapshot=snapshot, namespace=namespace, pod_labels=pod_labels)
    if sidecar is not None:
        policy = objects.as_map(objects.spec(sidecar).get("outboundTrafficPolicy"))
        mode = str(policy.get("mode") or "")
        if mode:
            chosen = (
                Outbound.REGISTRY_ONLY if mode == Outbound.REGISTRY_ONLY else Outbound.ALLOW_ANY
            )
            return chosen, objects.ref(sidecar)
    mesh = snapshot.mesh_config
    return mesh.outbound, mesh.source


def egress(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Declared external hosts have MESH_EXTERNAL ServiceEntries, and outbound is REGISTRY_ONLY."""
    ns = objects.namespace(service)
    if EXTERNAL_HOSTS_ANNOTATION not in objects.annotation_map(service):
        return Outcome(
            (),
            f"declares no external hosts ({EXTERNAL_HOSTS_ANNOTATION} not set)",
            undecided=f"{objects.ref(service)} does not declare the external hosts it calls "
            f"({EXTERNAL_HOSTS_ANNOTATION}), so meshgate cannot tell which need a ServiceEntry",
            undecided_fix=f"annotate the Service with {EXTERNAL_HOSTS_ANNOTATION}: the hosts it "
            f"calls outside the mesh, comma-separated, or `{NONE_DECLARED}`",
        )
    wanted = [h for h in declared_hosts(service, EXTERNAL_HOSTS_ANNOTATION) if h != NONE_DECLARED]
    visible = [se for se in snapshot.of(Kind.SERVICE_ENTRY) if _exported_to(se, ns)]
    scopes = _sidecars_of(snapshot=snapshot, service=service)
    problems = []
    covered = []
    for host in wanted:
        entries = [se for se in visible if _entry_covers(se, host)]
        external = [se for se in entries if not _internal(se)]
        imported = [e for e in external if all(_imports(sc, e, host) for sc in scopes)]
        if imported:
            covered.append(f"{host} ({objects.ref(imported[0])})")
            continue
        blocked_by = next(
            (sc for sc in scopes if sc is not None and not _imports(sc, external[0], host)), None
        ) if external else None  # fmt: skip
        if blocked_by is not None:
            internal = f" (not among the egress hosts of {objects.ref(blocked_by)})"
        else:
            internal = f" (only MESH_INTERNAL: {objects.ref(entries[0])})" if entries else ""
        problems.append(
            findings.make(
                findings.EXTERNAL_HOST_UNDECLARED,
                message=f"external host {host} of {objects.ref(service)} has no MESH_EXTERNAL "
                f"ServiceEntry visible in namespace {ns}{internal}",
                objects=(objects.ref(service), *(objects.ref(e) for e in entries[:1])),
                fix=f"add a ServiceEntry for {host} (location MESH_EXTERNAL) exported to {ns}",
            )
        )
    open_by = _allow_any(snapshot=snapshot, service=service)
    if open_by:
        problems.append(
            findings.make(
                findings.EGRESS_ALLOW_ANY,
                message=f"outbound traffic of {objects.ref(service)} is ALLOW_ANY ({open_by}): "
                "it reaches any host, so its ServiceEntries are an inventory, not an allow-list",
                objects=(open_by,),
                fix="set outboundTrafficPolicy.mode: REGISTRY_ONLY in the mesh config, or in a "
                f"Sidecar for namespace {ns}",
            )
        )
    summary = (
        "ServiceEntries: " + ", ".join(covered) + "; outbound REGISTRY_ONLY"
        if covered
        else "calls no external hosts (declared `none`); outbound REGISTRY_ONLY"
    )
    return Outcome(tuple(problems), summary)


def _allow_any(*, snapshot: ClusterSnapshot, service: RawObject) -> str:
    """What makes the service's pods ALLOW_ANY ("" when every one is REGISTRY_ONLY)."""
    ns = objects.namespace(service)
    pods: Sequence[dict[str, str]] = [
        objects.labels(p) for p in selected_pods(snapshot=snapshot, service=service)
    ] or [service_selector(service)]
    for pod_labels in pods:
        mode, decided_by = outbound_policy(snapshot=snapshot, namespace=ns, pod_labels=pod_labels)
        if mode is Outbound.ALLOW_ANY:
            return decided_by
    return ""


def _sidecars_of(*, snapshot: ClusterSnapshot, service: RawObject) -> list[RawObject | None]:
    """The Sidecar (or None) that scopes each of the service's pods, without repeats."""
    ns = objects.namespace(service)
    pods = [objects.labels(p) for p in selected_pods(snapshot=snapshot, service=service)]
    found = [
        _sidecar_for(snapshot=snapshot, namespace=ns, pod_labels=labels)
        for labels in pods or [service_selector(service)]
    ]
    return list({id(s): s for s in found}.values())


def _imports(sidecar: RawObject | None, entry: RawObject, host: str) -> bool:
    """The Sidecar's `egress` hosts (`ns/host`) import the entry's host (no egress: all)."""
    if sidecar is None:
        return True
    listeners = objects.as_list(objects.spec(sidecar).get("egress"))
    if not listeners:
        return True
    for listener in listeners:
        for raw in objects.as_list(objects.as_map(listener).get("hosts")):
            ns, _, pattern = str(raw).rpartition("/")
            if ns == "." and objects.namespace(entry) == objects.namespace(sidecar):
                ns = objects.namespace(entry)
            if ns in ("*", objects.namespace(entry)) and wildcard_match(pattern=pattern, host=host):
                return True
    return False


def _sidecar_for(
    *, snapshot: ClusterSnapshot, namespace: str, pod_labels: dict[str, str]
) -> RawObject | None:
    idx = index.of(snapshot)
    local = sorted(idx.in_namespace(Kind.SIDECAR, namespace), key=objects.age_order)
    for sidecar in local:
        selector = labels_of(
            objects.as_map(objects.spec(sidecar).get("workloadSelector")).get("labels")
        )
        if selector and objects.selects(selector, pod_labels):
            return sidecar
    for sidecar in local:
        if not objects.as_map(objects.spec(sidecar).get("workloadSelector")).get("labels"):
            return sidecar
    root = sorted(idx.in_namespace(Kind.SIDECAR, snapshot.root_namespace), key=objects.age_order)
    return next(
        (
            s
            for s in root
            if not objects.as_map(objects.spec(s).get("workloadSelector")).get("labels")
        ),
        None,
    )


def _exported_to(entry: RawObject, namespace: str) -> bool:
    export = [str(e) for e in objects.as_list(objects.spec(entry).get("exportTo"))]
    if not export or "*" in export or namespace in export:
        return True
    return "." in export and objects.namespace(entry) == namespace


def _entry_covers(entry: RawObject, host: str) -> bool:
    hosts = [str(h) for h in objects.as_list(objects.spec(entry).get("hosts"))]
    return any(wildcard_match(pattern=h, host=host) for h in hosts)


def _internal(entry: RawObject) -> bool:
    return str(objects.spec(entry).get("location") or "") == _MESH_INTERNAL
