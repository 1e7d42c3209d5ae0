"""Offline cluster reader: a folder of manifests instead of a live API server.

Reads every `*.yaml` / `*.yml` / `*.json` file below a folder, multi-document YAML and
`kubectl get -o yaml` List objects alike, and files each object under its kind. Secrets keep
their name and type only. Unparseable files are reported as read errors for every kind, so no
verdict reads them as "nothing there"; a malformed object (bot/kube/shapes.py), a read error
for its kind; a List item that is not an object, for the List's kind (every kind for `List`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.kube import shapes
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

_KINDS = {kind.value: kind for kind in Kind}
_CLUSTER_SCOPED = frozenset({Kind.NAMESPACE, Kind.MUTATING_WEBHOOK})
_MESH_CONFIG_NAME = "istio"
_SUFFIXES = {".yaml", ".yml", ".json"}
# libyaml's safe loader when PyYAML was built with it (the wheels are): ~10x faster, same result.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestReader:
    """A ClusterReader over a folder of manifests (re-read on every snapshot)."""

    def __init__(self, root: Path, *, istio_namespace: str = "istio-system") -> None:
        self.root = root
        self.istio_namespace = istio_namespace

    def snapshot(self) -> ClusterSnapshot:
        """Read every manifest below the folder; a broken file makes every kind unreadable."""
        objects: dict[Kind, list[RawObject]] = defaultdict(list)
        problems: list[str] = []  # every kind is unreadable
        faults: dict[Kind, list[str]] = defaultdict(list)  # one kind is
        if not self.root.is_dir():
            problems.append(f"{self.root} is not a folder of manifests")
        files = sorted(p for p in self.root.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
        for path in files:
            try:
                documents = list(yaml.load_all(path.read_text("utf-8"), Loader=_LOADER))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                problems.append(f"{path.name}: {_first_line(e)}")
                continue
            for document in documents:
                items, dropped = _flatten(document)
                if dropped:
                    said = f"{path.name}: {document['kind']}: {dropped} item(s) are not objects"
                    for list_kind in _kinds_of_list(str(document["kind"])):
                        faults[list_kind].append(said)
                for obj in items:
                    kind = _KINDS.get(str(obj.get("kind", "")))
                    if kind is None:
                        continue
                    fault = shapes.problem(kind, obj)
                    if fault:
                        faults[kind].append(f"{path.name}: {_named(kind, obj)}: {fault}")
                    elif self._wanted(kind, obj):
                        objects[kind].append(_sanitised(kind, obj))
        errors = {
            kind: "; ".join([*problems, *faults.get(kind, [])])
            for kind in Kind
            if problems or faults.get(kind)
        }
        return ClusterSnapshot(
            objects={kind: tuple(items) for kind, items in objects.items()},
            errors=errors,
            istio_namespace=self.istio_namespace,
            source=f"manifests in {self.root}",
        )

    def _wanted(self, kind: Kind, obj: RawObject) -> bool:
        if kind is not Kind.CONFIG_MAP:
            return True
        meta = obj.get("metadata") or {}
        return bool(
            meta.get("name") == _MESH_CONFIG_NAME and meta.get("namespace") == self.istio_namespace
        )


def _flatten(document: Any) -> tuple[list[RawObject], int]:
    """One object, or the items of a List (`kind: List` or `kind: PodList`), or nothing; and
    how many items of a List were not objects."""
    if not isinstance(document, dict):
        return [], 0
    if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
        item_kind = str(document["kind"]).removesuffix("List")
        flattened = []
        for item in document["items"]:
            if isinstance(item, dict):
                if "kind" not in item and item_kind:
                    item = {**item, "kind": item_kind}
                flattened.append(item)
        return flattened, len(document["items"]) - len(flattened)
    return [document], 0


def _kinds_of_list(list_kind: str) -> list[Kind]:
    """The kind a `PodList` holds; every kind for a plain `List`."""
    kind = _KINDS.get(list_kind.removesuffix("List"))
    return [kind] if kind is not None else list(Kind)


def _named(kind: Kind, obj: RawObject) -> str:
    """`Service shop/checkout` as far as the object says it, for a read error."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return f"a {kind.value}"
    name = f"{meta.get('namespace', 'default')}/{meta.get('name', '?')}"
    return f"{kind.value} {name if len(name) <= 80 else name[:80] + '...'}"


def _sanitised(kind: Kind, obj: RawObject) -> RawObject:
    """A copy with a namespace filled in and, for Secrets, no data."""
    meta = dict(obj.get("metadata") or {})
    if kind not in _CLUSTER_SCOPED:
        meta.setdefault("namespace", "default")
    clean = {**obj, "metadata": meta}
    if kind is Kind.SECRET:
        clean.pop("data", None)
        clean.pop("stringData", None)
    return clean


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
