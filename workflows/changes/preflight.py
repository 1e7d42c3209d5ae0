"""Pre-flight: refuse a change the cluster already shows will not take effect, before applying it.

Pure: the planned objects and a snapshot in, the reasons to refuse out (empty: go ahead). The
runner asks at `advance` and again just before applying, and a refusal is a `conflict`
recorded in the rollout's history, naming the object in the way and the fix.

Istio's rules (istio.io, concepts/security, "Peer authentication"; pilot's
ComposePeerAuthentication, as in workflows.mesh.mtls):

- among workload PeerAuthentications selecting the same workload, the OLDEST wins; an older
  one selecting the service's pods would shadow meshgate's, which would be applied, read
  "completed", and change nothing;
- a workload policy overrides the namespace and mesh ones: a PERMISSIVE one where the
  namespace or mesh already enforces STRICT would weaken mTLS, the opposite of the phase's aim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workflows.changes.actions import PlannedObject
from workflows.mesh import mtls, objects, workloads
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.naming import ServiceRef


def refusals(
    *, planned: Sequence[PlannedObject], service: ServiceRef, snapshot: ClusterSnapshot
) -> list[str]:
    """Why the planned change would not take effect (each names the object and the fix)."""
    found: list[str] = []
    for obj in planned:
        if obj.kind != Kind.PEER_AUTHENTICATION.value:
            continue
        selector = obj.body.get("spec", {}).get("selector", {}).get("matchLabels") or {}
        found.extend(_shadowing(obj, selector=selector, service=service, snapshot=snapshot))
        mode = str(obj.body.get("spec", {}).get("mtls", {}).get("mode", ""))
        if mode == "PERMISSIVE":
            found.extend(_weakening(obj, service=service, snapshot=snapshot))
    return found


def _shadowing(
    obj: PlannedObject,
    *,
    selector: Mapping[str, str],
    service: ServiceRef,
    snapshot: ClusterSnapshot,
) -> list[str]:
    """Older workload PeerAuthentications that select the pods meshgate's would select."""
    ours = snapshot.find(Kind.PEER_AUTHENTICATION, namespace=obj.namespace, name=obj.name)
    svc = snapshot.service(service)
    pods = workloads.selected_pods(snapshot=snapshot, service=svc) if svc is not None else []
    found = []
    for policy in snapshot.of(Kind.PEER_AUTHENTICATION):
        if objects.namespace(policy) != obj.namespace or objects.name(policy) == obj.name:
            continue
        theirs = objects.selector_labels(policy)
        if theirs is None or not _overlaps(theirs, selector=selector, pods=pods):
            continue
        if ours is not None and objects.age_order(ours) < objects.age_order(policy):
            continue  # meshgate's is older: it wins
        mode = mtls.policy_mode(policy)
        found.append(
            f"{objects.ref(policy)} (mode {mode.value if mode else 'UNSET'}) already selects "
            f"the pods of {service} and is older, so Istio would use it and ignore meshgate's "
            f"{obj.ref}: delete it, or narrow its selector, then `advance {service}` again"
        )
    return found


def _overlaps(
    theirs: Mapping[str, str], *, selector: Mapping[str, str], pods: list[RawObject]
) -> bool:
    if pods:
        labelled = [objects.labels(p) for p in pods]
        return any(objects.selects(theirs, ls) and objects.selects(selector, ls) for ls in labelled)
    return objects.selects(theirs, selector)  # no pods yet: it selects every pod ours would


def _weakening(obj: PlannedObject, *, service: ServiceRef, snapshot: ClusterSnapshot) -> list[str]:
    """A PERMISSIVE workload policy where the namespace or mesh already enforces STRICT."""
    mode, decided_by = mtls.MtlsMode.PERMISSIVE, None
    for scope in (snapshot.root_namespace, obj.namespace):
        policies = [
            p
            for p in snapshot.of(Kind.PEER_AUTHENTICATION)
            if objects.namespace(p) == scope and objects.selector_labels(p) is None
        ]
        if not policies:
            continue
        winner = min(policies, key=objects.age_order)
        set_mode = mtls.policy_mode(winner)
        if set_mode is not None:
            mode, decided_by = set_mode, winner
    if mode is not mtls.MtlsMode.STRICT or decided_by is None:
        return []
    return [
        f"{service} already gets STRICT mTLS from {objects.ref(decided_by)}; meshgate's "
        f"PERMISSIVE {obj.ref} would weaken it to accept plaintext: skip this phase with a "
        "playbook without it for this service, or relax that policy first if plaintext callers "
        "remain"
    ]
