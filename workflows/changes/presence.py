"""Is a phase's change in the cluster? The planned objects, compared with a snapshot.

The "change present" line of a verifying phase: every planned object exists with the fields
meshgate plans for it (spec, and labels and annotations other than meshgate's bookkeeping).
It is how a change committed through GitOps is seen to arrive, and how one meshgate applied,
then someone overwrote, is caught. Pure: a snapshot and a plan in, a verdict out.

Not compared: the rollout-restart annotation of a Deployment or StatefulSet (its value is the
time of the plan; the verify items check the restart's effect, ready sidecars).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.changes.actions import (
    MANAGED_BY_LABEL,
    SERVICE_ANNOTATION,
    ActionError,
    PlannedObject,
)
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh.snapshot import ClusterSnapshot, Kind

_RESTARTED = frozenset({Kind.DEPLOYMENT.value, Kind.STATEFULSET.value})
_BOOKKEEPING = frozenset({MANAGED_BY_LABEL, SERVICE_ANNOTATION})


def check(
    *, planned: Sequence[PlannedObject] | ActionError, snapshot: ClusterSnapshot
) -> CheckResult:
    """PASS when every planned object is in `snapshot` as planned; FAIL naming what is not."""
    if isinstance(planned, ActionError):
        return CheckResult(
            Verdict.UNKNOWN,
            reason=f"cannot build the change to compare with the cluster: {planned}",
            fix="fix what stops the change from being built, then `advance` again",
        )
    missing: list[str] = []
    differing: list[str] = []
    for obj in planned:
        if obj.kind in _RESTARTED and not obj.whole:
            continue
        kind = Kind(obj.kind)
        if not snapshot.readable(kind):
            return CheckResult(
                Verdict.UNKNOWN,
                reason=f"could not read {kind.value}: {snapshot.errors[kind]}",
                fix="check the cluster connection and meshgate's RBAC",
            )
        live = snapshot.find(kind, namespace=obj.namespace, name=obj.name)
        if live is None:
            missing.append(obj.ref)
        else:
            fields = differences(obj.body, live)
            if fields:
                differing.append(f"{obj.ref} ({', '.join(fields)})")
    if not missing and not differing:
        refs = [o.ref for o in planned if o.whole or o.kind not in _RESTARTED]
        return CheckResult(
            Verdict.PASS, reason="in the cluster as planned: " + (", ".join(refs) or "nothing")
        )
    problems = [f"missing {', '.join(missing)}"] if missing else []
    if differing:
        problems.append(f"not as planned: {'; '.join(differing)}")
    return CheckResult(
        Verdict.FAIL,
        reason="; ".join(problems),
        fix="apply the change (`plan SERVICE` prints it as YAML to commit) and wait for it",
    )


def differences(planned: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """The field paths the planned body sets that the live object does not hold as planned."""
    found: list[str] = []
    meta = planned.get("metadata") or {}
    live_meta = live.get("metadata") or {}
    for section in ("labels", "annotations"):
        wanted = {k: v for k, v in (meta.get(section) or {}).items() if k not in _BOOKKEEPING}
        have = live_meta.get(section) or {}
        found.extend(
            f"metadata.{section}.{k}" for k, v in sorted(wanted.items()) if have.get(k) != v
        )
    if "spec" in planned:
        found.extend(_subset("spec", planned["spec"], live.get("spec")))
    return found


def _subset(path: str, wanted: Any, have: Any) -> list[str]:
    if isinstance(wanted, dict):
        if not isinstance(have, dict):
            return [path]
        return [p for k, v in wanted.items() for p in _subset(f"{path}.{k}", v, have.get(k))]
    return [] if wanted == have else [path]
