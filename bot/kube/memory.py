"""An in-memory cluster over a folder of manifests: a ClusterReader AND a ClusterWriter.

The demo mesh (and tests that expect changes to be applied) run on it, so a newcomer sees a
change applied, verified, and rolled back without a cluster. It holds its own copy of the
objects: `apply` merges each planned object into it as server-side apply would (creating
whole objects, setting fields on existing ones), `rollback` restores what `apply` replaced,
`preview` diffs the YAML before and after. The manifests on disk are never written.

A rollout restart in a namespace with sidecar injection on marks the restarted workload's pods
injected with an `istio-proxy` container, ready as a real restart would leave them, unless the
pod carries `meshgate.io/demo-proxy: never-ready` (the demo's service that fails verification).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.kube.manifests import ManifestReader
from workflows.changes.actions import INJECTION_LABEL, PlannedObject
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.ports import ChangeFailed, ChangeRecord

NEVER_READY = "meshgate.io/demo-proxy"
_KINDS = {kind.value: kind for kind in Kind}


class MemoryCluster:
    """A small cluster in memory, loaded from manifests; thread-safe."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        if snapshot.errors:
            raise ValueError(f"cannot load the manifests: {next(iter(snapshot.errors.values()))}")
        self._objects = {
            kind: [copy.deepcopy(o) for o in objs] for kind, objs in snapshot.objects.items()
        }
        self._base = snapshot  # namespaces, source: everything but the objects
        self._source = f"{snapshot.source} (in memory: meshgate's changes are applied here)"
        self._lock = threading.Lock()

    @classmethod
    def from_manifests(cls, root: Path) -> MemoryCluster:
        """The objects of every manifest below `root`."""
        return cls(ManifestReader(root).snapshot())

    def snapshot(self) -> ClusterSnapshot:
        """A copy of every object as it is now."""
        with self._lock:
            return dataclasses.replace(
                self._base,
                objects={k: tuple(copy.deepcopy(v)) for k, v in self._objects.items()},
                source=self._source,
            )

    def preview(self, planned: Sequence[PlannedObject]) -> str:
        """A unified diff of each object that would change."""
        with self._lock:
            diffs = []
            for obj in planned:
                before = self._find(obj)
                after = _merged(before, obj)
                if before != after:
                    diffs.append(_diff(obj.ref, before, after))
            return "\n".join(diffs)

    def current(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """What each object is now, as records `rollback` restores it from."""
        with self._lock:
            return [_record(o.kind, o.namespace, o.name, self._find(o)) for o in planned]

    def apply(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """Apply every object (all or nothing); records of what each replaced, for rollback."""
        with self._lock:
            for obj in planned:
                if not obj.whole and self._find(obj) is None:
                    raise ChangeFailed(f"applying the change failed: {obj.ref} does not exist")
            records: list[ChangeRecord] = []
            for obj in planned:
                before = self._find(obj)
                records.append(_record(obj.kind, obj.namespace, obj.name, before))
                self._put(obj.kind, _merged(before, obj))
                if obj.kind in (Kind.DEPLOYMENT.value, Kind.STATEFULSET.value):
                    records.extend(self._restart(obj))
            return records

    def rollback(self, records: Sequence[ChangeRecord]) -> list[str]:
        """Restore what `apply` replaced, newest first."""
        with self._lock:
            lines = []
            for record in reversed(records):
                kind, ns, name = record["kind"], record["namespace"], record["name"]
                where = f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
                self._remove(kind, ns, name)
                if record["before"] is None:
                    lines.append(f"deleted {where}")
                else:
                    self._put(kind, record["before"])
                    lines.append(f"restored {where}")
            return lines

    def _restart(self, obj: PlannedObject) -> list[ChangeRecord]:
        """Pods of a restarted workload get a sidecar when their namespace injects."""
        namespace = self._get(Kind.NAMESPACE.value, "", obj.namespace) or {}
        if ((namespace.get("metadata") or {}).get("labels") or {}).get(
            INJECTION_LABEL
        ) != "enabled":
            return []
        workload = self._get(obj.kind, obj.namespace, obj.name) or {}
        template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
        labels = template.get("labels") or {}
        records = []
        for pod in self._objects.get(Kind.POD, []):
            meta = pod.get("metadata") or {}
            pod_labels = meta.get("labels") or {}
            if meta.get("namespace") != obj.namespace or not labels:
                continue
            if not all(pod_labels.get(k) == v for k, v in labels.items()):
                continue
            records.append(_record(Kind.POD.value, obj.namespace, meta["name"], pod))
            self._put(Kind.POD.value, _injected(pod))
        return records

    def _find(self, obj: PlannedObject) -> RawObject | None:
        return self._get(obj.kind, obj.namespace, obj.name)

    def _get(self, kind: str, namespace: str, name: str) -> RawObject | None:
        for found in self._objects.get(_KINDS[kind], []):
            meta = found.get("metadata") or {}
            if meta.get("name") == name and meta.get("namespace", "") == namespace:
                return copy.deepcopy(found)
        return None

    def _remove(self, kind: str, namespace: str, name: str) -> None:
        objs = self._objects.get(_KINDS[kind], [])
        self._objects[_KINDS[kind]] = [o for o in objs if _key(o) != (name, namespace)]

    def _put(self, kind: str, obj: RawObject) -> None:
        meta = obj.get("metadata") or {}
        self._remove(kind, str(meta.get("namespace", "")), str(meta.get("name")))
        self._objects.setdefault(_KINDS[kind], []).append(copy.deepcopy(obj))


def _key(obj: RawObject) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("name")), str(meta.get("namespace", ""))


def _record(kind: str, namespace: str, name: str, before: RawObject | None) -> ChangeRecord:
    return {"kind": kind, "namespace": namespace, "name": name, "before": copy.deepcopy(before)}


def _merged(before: RawObject | None, obj: PlannedObject) -> RawObject:
    """Server-side apply, simply: the planned fields over the object (or a new object)."""
    merged = _merge(copy.deepcopy(before) if before is not None else {}, obj.body)
    if before is None:
        merged["metadata"].setdefault("creationTimestamp", "2026-12-01T00:00:00Z")
    return merged


def _merge(into: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def _injected(pod: RawObject) -> RawObject:
    """The pod after a restart with injection: an istio-proxy container, ready or not."""
    pod = copy.deepcopy(pod)
    spec = pod.setdefault("spec", {})
    containers = spec.setdefault("containers", [])
    if not any(c.get("name") == "istio-proxy" for c in containers):
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"})
    annotations = pod.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    pod["metadata"]["annotations"] = annotations
    ready = annotations.get(NEVER_READY) != "never-ready"
    annotations["sidecar.istio.io/status"] = '{"containers":["istio-proxy"]}'
    status = pod.setdefault("status", {})
    statuses = [s for s in status.get("containerStatuses") or [] if s.get("name") != "istio-proxy"]
    statuses.append({"name": "istio-proxy", "ready": ready})
    status["containerStatuses"] = statuses
    return pod


def _diff(ref: str, before: RawObject | None, after: RawObject) -> str:
    old = yaml.safe_dump(before, sort_keys=True).splitlines() if before is not None else []
    new = yaml.safe_dump(after, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(old, new, f"{ref} (now)", f"{ref} (after)", lineterm=""))
