"""Checks of the route, egress and certs phases, over `workflows.mesh.routing`.

Each routing aspect returns findings and a summary; a finding fails the check, an aspect that
cannot be decided (`Outcome.undecided`) makes it `unknown`, and `Outcome.blocked` fails it for a
reason that is not a finding (no pods behind the subsets).
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import from_findings, prelude
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh import posture, routing
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef


def _routing_check(aspect: str) -> CheckFunction:
    outcome: Callable[..., routing.Outcome] = posture.ROUTING_ASPECTS[aspect]

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = prelude(snapshot, ref, posture.ROUTING_KINDS[aspect])
        if isinstance(service, CheckResult):
            return service
        result = outcome(snapshot=snapshot, service=service)
        if result.blocked:
            return CheckResult(
                Verdict.FAIL,
                reason=result.blocked,
                fix="start the workload (kubectl get pods -l SELECTOR), then check again",
            )
        if not result.findings and result.undecided:
            return CheckResult(Verdict.UNKNOWN, reason=result.undecided, fix=result.undecided_fix)
        return from_findings(result.findings, ok=result.summary)

    return check


CHECKS: dict[str, CheckFunction] = {
    "virtualservice-bound": _routing_check("ingress"),
    "subsets-select-pods": _routing_check("subsets"),
    "serviceentries-declared": _routing_check("egress"),
    "certificates-ready": _routing_check("certificates"),
}
