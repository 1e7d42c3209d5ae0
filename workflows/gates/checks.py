"""Automated checklist checks: a registry of pure functions over a cluster snapshot.

A playbook names checks by id (`ports-named`, `mtls-strict`, ...). `run` evaluates the ones
asked for; an id with no implementation, or one whose inputs could not be read, gives
`unknown` with the reason. No check ever answers `pass` for something it could not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef

CheckFunction = Callable[[ClusterSnapshot, ServiceRef], CheckResult]
"""A check: (snapshot, service) -> result. Pure; must return UNKNOWN when inputs are missing."""


def run(
    *,
    snapshot: ClusterSnapshot | None,
    service: ServiceRef,
    check_ids: Iterable[str],
    registry: Mapping[str, CheckFunction],
    snapshot_error: str = "",
) -> dict[str, CheckResult]:
    """Evaluate each check id against the snapshot; missing checks and snapshots are UNKNOWN."""
    results: dict[str, CheckResult] = {}
    for check_id in check_ids:
        check = registry.get(check_id)
        if snapshot is None:
            results[check_id] = CheckResult(
                Verdict.UNKNOWN,
                reason=f"could not read the cluster: {snapshot_error or 'no cluster reader'}",
                fix="check the cluster connection (--context / --manifests) and retry",
            )
        elif check is None:
            results[check_id] = CheckResult(
                Verdict.UNKNOWN,
                reason=f"check {check_id!r} is not implemented in this version of meshgate",
                fix="verify it by hand; an attestation item can record it",
            )
        else:
            results[check_id] = check(snapshot, service)
    return results
