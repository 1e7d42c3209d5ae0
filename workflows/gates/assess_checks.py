"""Checks of the assess phase: what must hold before meshgate touches a service.

Ports declare their protocol as Istio reads it; pods run, none as UID 1337, none on the host
network. The pod rules' wording and fixes come from `workflows.mesh.hygiene`, which the audit's
findings use too.
"""

from __future__ import annotations

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import from_findings, listing, pod_check, prelude
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh import hygiene, protocols
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.mesh.workloads import is_running, service_ports
from workflows.naming import ServiceRef


def ports_named(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
    """Every Service port has a protocol Istio recognises (name prefix or appProtocol)."""
    service = prelude(snapshot, ref, [])
    if isinstance(service, CheckResult):
        return service
    ports = [
        f"{p.get('name') or p.get('appProtocol') or 'unnamed'} ({p.get('port')}) "
        f"{protocols.of_port(p).value}"
        for p in service_ports(service)
    ]
    return from_findings(
        hygiene.unnamed_ports(service),
        ok=f"ports declare their protocol: {listing(ports)}"
        if ports
        else "the Service has no ports",
    )


CHECKS: dict[str, CheckFunction] = {
    "ports-named": ports_named,
    "pods-running": pod_check(
        holds=is_running,
        meets="running",
        fix="kubectl get pods -n NAMESPACE -l SELECTOR; look at events of the pending pods",
        empty=Verdict.FAIL,
    ),
    "no-uid-1337": pod_check(
        holds=hygiene.UID_RULE.holds,
        meets=hygiene.UID_RULE.meets,
        fix=hygiene.UID_RULE.fix,
        empty=Verdict.UNKNOWN,
    ),
    "no-host-network": pod_check(
        holds=hygiene.HOST_NETWORK_RULE.holds,
        meets=hygiene.HOST_NETWORK_RULE.meets,
        fix=hygiene.HOST_NETWORK_RULE.fix,
        empty=Verdict.UNKNOWN,
    ),
}
