"""The manifests in deploy/ as `kubectl kustomize` renders them, and questions about them.

`kubectl` is Debian's `kubernetes-client` (kustomize v2.0.3) on a fresh machine (the Makefile
installs it) or any later one; the kustomizations are written for both.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
Obj = dict[str, Any]


def kustomizations() -> list[Path]:
    """Every folder under deploy/ that `kubectl apply -k` can take, relative to deploy/."""
    return sorted(p.parent.relative_to(DEPLOY) for p in DEPLOY.rglob("kustomization.yaml"))


@cache
def render(folder: Path) -> tuple[Obj, ...]:
    """The objects `kubectl kustomize deploy/FOLDER` prints; AssertionError with its stderr."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make test` installs Debian's kubernetes-client"
    done = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize deploy/{folder}: {done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def of_kind(objects: tuple[Obj, ...], kind: str) -> list[Obj]:
    """The objects of one kind."""
    return [o for o in objects if o.get("kind") == kind]


def one(objects: tuple[Obj, ...], kind: str, name: str) -> Obj:
    """The object of `kind` named `name`; AssertionError when it is not there exactly once."""
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: found {len(found)}"
    return found[0]


def settings(objects: tuple[Obj, ...]) -> dict[str, str]:
    """The `meshgate-settings` ConfigMap's data (its name carries kustomize's hash suffix)."""
    found = [
        o
        for o in of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("meshgate-settings")
    ]
    assert len(found) == 1, "one meshgate-settings ConfigMap"
    return dict(found[0].get("data") or {})


def bound_rules(
    objects: tuple[Obj, ...], *, account: str = "meshgate"
) -> Iterator[tuple[str | None, Obj]]:
    """(namespace or None for cluster-wide, rule) for every rule bound to the ServiceAccount."""
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objects
        if o.get("kind") in ("ClusterRole", "Role")
    }
    for binding in objects:
        if binding.get("kind") not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(
            s.get("kind") == "ServiceAccount" and s.get("name") == account
            for s in binding.get("subjects") or []
        ):
            continue
        where = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        role_ns = where if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        assert role is not None, f"{binding['kind']} {binding['metadata']['name']}: no {ref}"
        for rule in role.get("rules") or []:
            yield where, rule


def dump(objects: tuple[Obj, ...]) -> str:
    """The objects as one YAML stream (for messages)."""
    return yaml.safe_dump_all(objects)
