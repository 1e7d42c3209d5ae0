"""What a dry run shows: objects as unified YAML diffs, without the server's bookkeeping.

The writer (bot.kube.writer) diffs what the server has against what it would have after a
server-side apply, and re-applies old objects stripped of the same fields on rollback.
"""

from __future__ import annotations

import copy
import difflib

import yaml

from workflows.mesh.snapshot import RawObject

# Fields the server keeps for itself: left out of diffs and of re-applied old objects.
_SERVER_METADATA = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def diff(before: RawObject | None, after: RawObject) -> str:
    """Unified diff of the two objects as YAML, without server bookkeeping ("" if equal)."""
    old = _yaml(without_server_fields(before)) if before is not None else []
    new = _yaml(without_server_fields(after))
    label = _label(after)
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"{label} (current)" if before is not None else "/dev/null",
        tofile=f"{label} (after apply)",
        lineterm="",
    )
    return "\n".join(lines)


def _yaml(obj: RawObject) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines()


def _label(obj: RawObject) -> str:
    meta = obj.get("metadata") or {}
    where = (
        f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else meta.get("name")
    )
    return f"{obj.get('kind')} {where}"


def without_server_fields(obj: RawObject) -> RawObject:
    """The object as a person wrote it: no status, no server bookkeeping in its metadata."""
    clean = copy.deepcopy(obj)
    clean.pop("status", None)
    meta = clean.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        if not annotations:
            meta.pop("annotations")
    return clean
