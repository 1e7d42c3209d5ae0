"""What the assess phase looks at before a sidecar is injected: ports, pods, UID 1337, hostNetwork.

Istio needs to know each Service port's protocol (`protocols.of_port`, after Istio's
ConvertProtocol; the port-name analyzer, istio/istio
pkg/config/analysis/analyzers/service/portname.go, flags the ports it finds unsupported),
redirects all traffic except the proxy's own UID 1337 (so an application running as 1337
bypasses the proxy), and cannot capture traffic of a pod in the host network namespace.

The pod rules (`POD_RULES`) are the one source of each rule's wording and fix: the audit's
findings and the assess and inject checks (workflows.gates) both read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workflows.mesh import findings, objects, protocols
from workflows.mesh.findings import Code, Finding
from workflows.mesh.snapshot import RawObject
from workflows.mesh.workloads import (
    Workload,
    containers_as_proxy_uid,
    is_ready,
    is_running,
    service_ports,
    uses_host_network,
)

# Labels by which the port-name analyzer recognises Istio's own Services (IsIstioControlPlane,
# pkg/config/analysis/analyzers/util/config.go): it skips them.
_CONTROL_PLANE_LABEL = "istio"
_CONTROL_PLANE_RELEASE = ("release", "istio")


@dataclass(frozen=True)
class PodRule:
    """A rule every pod of a service must meet: what it says, how to check it, the fix."""

    code: Code
    holds: Callable[[RawObject], bool]  # True when the pod meets the rule
    meets: str  # what a pod that meets it is, after "all N pods ..."
    fix: str


def _no_uid_1337(pod: RawObject) -> bool:
    return not containers_as_proxy_uid(pod)


def _off_host_network(pod: RawObject) -> bool:
    return not uses_host_network(pod)


def _running_and_ready(pod: RawObject) -> bool:
    return is_running(pod) and is_ready(pod)


UID_RULE = PodRule(
    findings.UID_1337,
    _no_uid_1337,
    "free of UID 1337 (the proxy's UID)",
    "set securityContext.runAsUser to another UID in the pod template",
)
HOST_NETWORK_RULE = PodRule(
    findings.HOST_NETWORK,
    _off_host_network,
    "off the host network",
    "remove hostNetwork: true from the pod template, or keep the workload out of the mesh",
)
READY_RULE = PodRule(
    findings.POD_NOT_READY,
    _running_and_ready,
    "running and ready",
    "kubectl describe pod on the unready pods (events, readiness probe, image, resources)",
)


def port_protocol_declared(port: Mapping[str, object]) -> bool:
    """True when Istio's ConvertProtocol gives the Service port a protocol (no sniffing)."""
    return not protocols.of_port(port).is_sniffed


def is_control_plane(service: RawObject) -> bool:
    """Istio's own Services, which the port-name analyzer skips."""
    labels = objects.labels(service)
    key, value = _CONTROL_PLANE_RELEASE
    return _CONTROL_PLANE_LABEL in labels or labels.get(key) == value


def unnamed_ports(service: RawObject) -> list[Finding]:
    """MG305 for each Service port whose protocol Istio cannot tell (it sniffs instead)."""
    if is_control_plane(service):
        return []
    problems = []
    for port in service_ports(service):
        if port_protocol_declared(port):
            continue
        label = f"{port.get('name')!r}" if port.get("name") else "(unnamed)"
        app_protocol = port.get("appProtocol")
        why = (
            f"has appProtocol {app_protocol!r}, which Istio does not know"
            if app_protocol is not None
            else "has no protocol prefix and no appProtocol"
        )
        problems.append(
            findings.make(
                findings.PORT_PROTOCOL_UNNAMED,
                message=f"port {port.get('port')} {label} of {objects.ref(service)} {why}",
                objects=(objects.ref(service),),
                fix=f"name the port `http-...`, `grpc-...`, `tcp-...` or set appProtocol on "
                f"port {port.get('port')}",
            )
        )
    return problems


def pod_findings(workload: Workload) -> list[Finding]:
    """MG306 (UID 1337), MG307 (hostNetwork), MG308 (not running/ready) for a workload."""
    problems = []
    uid_pods = {objects.name(p): c for p in workload.pods if (c := containers_as_proxy_uid(p))}
    if uid_pods:
        first, containers = next(iter(sorted(uid_pods.items())))
        problems.append(
            findings.make(
                UID_RULE.code,
                message=f"{workload.ref}: container {', '.join(containers)} runs as UID 1337 "
                f"(pod {first}{_more(len(uid_pods))}); its traffic bypasses the proxy",
                objects=(workload.ref,),
                fix=UID_RULE.fix,
            )
        )
    host = sorted(objects.name(p) for p in workload.pods if not HOST_NETWORK_RULE.holds(p))
    if host:
        problems.append(
            findings.make(
                HOST_NETWORK_RULE.code,
                message=f"{workload.ref}: pod {host[0]}{_more(len(host))} uses hostNetwork; "
                "a sidecar cannot capture its traffic (and Istio never injects it)",
                objects=(workload.ref,),
                fix=HOST_NETWORK_RULE.fix,
            )
        )
    unready = sorted(objects.name(p) for p in workload.pods if not READY_RULE.holds(p))
    if unready:
        problems.append(
            findings.make(
                READY_RULE.code,
                message=f"{workload.ref}: pod {unready[0]}{_more(len(unready))} is not running "
                "and ready",
                objects=(workload.ref,),
                fix=READY_RULE.fix,
            )
        )
    return problems


def _more(count: int) -> str:
    return f" and {count - 1} more" if count > 1 else ""
