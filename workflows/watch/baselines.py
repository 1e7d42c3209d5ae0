"""Baselines: the posture a service reached in its rollout, which the watch holds it to.

When a rollout completes `strict`, `rbac-dry-run` or `rbac`, the service's posture (its audit
entry, the same model `meshgate audit --format json` prints) is stored as its baseline; a later
completed phase stores it again, and a rollback (or a change that failed to apply) stores the
posture it went back to, or clears the baseline when no watched phase is left completed.

`check` is the one regression engine: `meshgate audit --baseline FILE` and every sweep call
`workflows.audit.auditing.audit` with a baseline report, so both find the same regressions
with the same causes. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.audit import auditing
from workflows.audit.report import AuditReport, ServiceAudit
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.rollout.happenings import Happening, HappeningKind
from workflows.rollout.state import Rollout

# The default playbook's phases after which a service has something worth watching: STRICT
# mTLS, then the RBAC policy (dry-run, then enforced).
WATCHED_PHASES = frozenset({"strict", "rbac-dry-run", "rbac"})

_MOVES = frozenset(
    {
        HappeningKind.PHASE_COMPLETED,
        HappeningKind.ROLLED_BACK,
        HappeningKind.CHANGE_FAILED,
    }
)


class BaselineAction(StrEnum):
    """What a transition means for the service's baseline."""

    KEEP = "keep"  # nothing a baseline records moved
    STORE = "store"  # store the posture the service has now
    CLEAR = "clear"  # no watched phase is completed any more


class Baseline(BaseModel):
    """A service's baseline: its audit entry, and the phase and time it was taken at."""

    model_config = ConfigDict(frozen=True)

    service: str
    phase: str
    at: datetime
    audit: ServiceAudit


def after_transition(*, rollout: Rollout, happened: Sequence[Happening]) -> BaselineAction:
    """What the transition that produced `rollout` (doing `happened`) means for its baseline."""
    moves = [h for h in happened if h.kind in _MOVES]
    if not moves:
        return BaselineAction.KEEP
    if watched_phase(rollout) is not None:
        return BaselineAction.STORE
    touched = any(h.phase in WATCHED_PHASES or h.from_phase in WATCHED_PHASES for h in moves)
    return BaselineAction.CLEAR if touched else BaselineAction.KEEP


def watched_phase(rollout: Rollout) -> str | None:
    """The latest completed phase that makes the service watched, or None."""
    for done in reversed(rollout.completed):
        if done.phase in WATCHED_PHASES:
            return done.phase
    return None


def taken(*, rollout: Rollout, snapshot: ClusterSnapshot, now: datetime) -> Baseline | None:
    """The baseline of the rollout's service from `snapshot`; None if it cannot be read fully.

    A baseline with unknown verdicts would hide every later regression of them, so a snapshot
    with read errors, or a service not in it, gives no baseline (the caller keeps the old one).
    """
    ref = ServiceRef.parse(rollout.service)
    if snapshot.errors or snapshot.service(ref) is None:
        return None
    report = auditing.audit(snapshot=snapshot, services=[ref])
    phase = watched_phase(rollout) or rollout.phase
    return Baseline(service=rollout.service, phase=phase, at=now, audit=report.services[0])


def as_report(baselines: Iterable[Baseline]) -> AuditReport:
    """The baselines as one audit report (what `--baseline FILE` reads)."""
    return AuditReport(services=[b.audit for b in baselines])


def check(*, snapshot: ClusterSnapshot, baseline: AuditReport) -> AuditReport:
    """The audit of the baseline's services now, with its regressions against the baseline."""
    refs = [ServiceRef.parse(s.service) for s in baseline.services]
    return auditing.audit(snapshot=snapshot, services=refs, baseline=baseline)
