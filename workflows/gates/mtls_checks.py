"""Checks of the permissive and strict phases: effective mTLS, and DestinationRule TLS.

A port whose mode meshgate cannot decide (ambient mode, unreadable inputs) makes the check
`unknown`, never `pass` and never a `fail` that blames the wrong thing.
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import Undecided, from_findings, prelude, workload_check
from workflows.gates.verdicts import CheckResult
from workflows.mesh import mtls, posture
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.mesh.workload_posture import WorkloadPosture
from workflows.naming import ServiceRef


def _judge_mtls(floor: MtlsMode) -> Callable[[WorkloadPosture], str | Undecided | None]:
    def judge(wp: WorkloadPosture) -> str | Undecided | None:
        if not wp.ports:
            return f"{wp.workload.ref}: no target port found on its pods"
        weak = [
            f"port {port} {item.mode.value} ({item.decided_by or 'Istio default'})"
            for port, item in sorted(wp.ports.items())
            if item.mode is not MtlsMode.UNKNOWN and mtls.rank(item.mode) < mtls.rank(floor)
        ]
        if weak:
            return f"{wp.workload.ref}: {', '.join(weak)}"
        unknown = [
            f"port {port} ({item.decided_by or 'could not be decided'})"
            for port, item in sorted(wp.ports.items())
            if item.mode is MtlsMode.UNKNOWN
        ]
        return (
            Undecided(f"{wp.workload.ref}: mTLS unknown on {', '.join(unknown)}")
            if unknown
            else None
        )

    return judge


def no_tls_conflict(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
    """No DestinationRule toward the service sets a TLS mode a STRICT sidecar would refuse."""
    service = prelude(snapshot, ref, [Kind.DESTINATION_RULE])
    if isinstance(service, CheckResult):
        return service
    found = posture.tls_conflicts(
        snapshot=snapshot, service=service, workloads=(), only_strict=False
    )
    return from_findings(
        found,
        ok="no DestinationRule toward the service sets tls.mode DISABLE, SIMPLE or MUTUAL",
    )


CHECKS: dict[str, CheckFunction] = {
    "mtls-at-least-permissive": workload_check(
        posture.MTLS_KINDS,
        _judge_mtls(MtlsMode.PERMISSIVE),
        ok="effective mTLS PERMISSIVE or STRICT on every port",
        fix="remove the DISABLE PeerAuthentication or port exclusion, or inject the sidecar",
    ),
    "mtls-strict": workload_check(
        posture.MTLS_KINDS,
        _judge_mtls(MtlsMode.STRICT),
        ok="effective mTLS STRICT on every port",
        fix="apply a STRICT PeerAuthentication (strict phase) and check portLevelMtls overrides",
    ),
    "no-tls-conflict": no_tls_conflict,
}
