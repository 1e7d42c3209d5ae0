"""A cluster reader with objects applied on top: the demo's `:apply FILE`, in memory.

The demo mesh is a folder of manifests nobody should edit to try the watch; `apply_file` reads
a manifest file and puts its objects over the ones the base reader gives (same kind, namespace
and name: replaced; else added), for this process only. The next sweep sees them.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import yaml

from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.ports import ClusterReader

_KINDS = {kind.value: kind for kind in Kind}


class OverlayError(Exception):
    """A file that cannot be applied; the message says which and why."""


class OverlayReader:
    """A ClusterReader: the base reader's snapshot with applied objects on top."""

    def __init__(self, base: ClusterReader) -> None:
        self._base = base
        self._applied: dict[tuple[Kind, str, str], RawObject] = {}
        self._lock = threading.Lock()

    def snapshot(self) -> ClusterSnapshot:
        """The base snapshot with every applied object put over it."""
        base = self._base.snapshot()
        with self._lock:
            applied = dict(self._applied)
        if not applied:
            return base
        objects = {kind: list(items) for kind, items in base.objects.items()}
        for (kind, namespace, name), obj in applied.items():
            kept = [o for o in objects.get(kind, []) if _key(kind, o) != (kind, namespace, name)]
            objects[kind] = [*kept, obj]
        return dataclasses.replace(
            base,
            objects={kind: tuple(items) for kind, items in objects.items()},
            source=f"{base.source} with changes applied",
        )

    def apply_file(self, path: Path) -> list[str]:
        """Apply every object of a manifest file; `Kind ns/name` of each."""
        try:
            documents = list(yaml.safe_load_all(path.read_text("utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise OverlayError(f"cannot apply {path}: {str(e).splitlines()[0]}") from e
        done = []
        with self._lock:
            for doc in documents:
                if not isinstance(doc, dict):
                    continue
                kind = _KINDS.get(str(doc.get("kind", "")))
                meta = doc.get("metadata") or {}
                if kind is None or not meta.get("name"):
                    raise OverlayError(f"{path}: {doc.get('kind')!r} is not a kind meshgate reads")
                if kind is not Kind.NAMESPACE:
                    meta.setdefault("namespace", "default")
                doc["metadata"] = meta
                key = _key(kind, doc)
                self._applied[key] = doc
                done.append(f"{kind.value} {key[1]}/{key[2]}".replace(" /", " "))
        return done


def _key(kind: Kind, obj: RawObject) -> tuple[Kind, str, str]:
    meta = obj.get("metadata") or {}
    return kind, str(meta.get("namespace", "")), str(meta.get("name", ""))
