"""What the assess phase looks at before a sidecar is injected: ports, pods, UID 1337, hostNetwork.

Istio needs to know each Service port's protocol (a port name `<protocol>[-<suffix>]` or
`appProtocol`; istio.io ops/configuration/traffic-management/protocol-selection), redirects all
traffic except the proxy's own UID 1337 (so an application running as 1337 bypasses the
proxy), and cannot capture traffic of a pod in the host network namespace.
"""

from __future__ import annotations

from workflows.mesh import findings, objects
from workflows.mesh.findings import Finding
from workflows.mesh.snapshot import RawObject
from workflows.mesh.workloads import (
    Workload,
    containers_as_proxy_uid,
    is_ready,
    is_running,
    service_ports,
    uses_host_network,
)

# Protocols Istio recognises from a port name prefix (istio.io protocol-selection).
PORT_PROTOCOLS = frozenset(
    {"http", "http2", "https", "grpc", "grpc-web", "mongo", "mysql", "redis", "tcp", "tls", "udp"}
)


def port_protocol_declared(port: dict[str, object] | object) -> bool:
    """True when a Service port sets appProtocol or is named `<protocol>[-<suffix>]`."""
    port_map = objects.as_map(port)
    if str(port_map.get("appProtocol") or "").strip():
        return True
    port_name = str(port_map.get("name") or "").lower()
    return any(port_name == p or port_name.startswith(f"{p}-") for p in PORT_PROTOCOLS)


def unnamed_ports(service: RawObject) -> list[Finding]:
    """MG305 for each Service port whose protocol Istio cannot tell from its name."""
    problems = []
    for port in service_ports(service):
        if port_protocol_declared(port):
            continue
        label = f"{port.get('name')!r}" if port.get("name") else "(unnamed)"
        problems.append(
            findings.make(
                findings.PORT_PROTOCOL_UNNAMED,
                message=f"port {port.get('port')} {label} of {objects.ref(service)} has no "
                "protocol prefix and no appProtocol",
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
                findings.UID_1337,
                message=f"{workload.ref}: container {', '.join(containers)} runs as UID 1337 "
                f"(pod {first}{_more(len(uid_pods))}); its traffic bypasses the proxy",
                objects=(workload.ref,),
                fix="set securityContext.runAsUser to another UID in the pod template",
            )
        )
    host = sorted(objects.name(p) for p in workload.pods if uses_host_network(p))
    if host:
        problems.append(
            findings.make(
                findings.HOST_NETWORK,
                message=f"{workload.ref}: pod {host[0]}{_more(len(host))} uses hostNetwork; "
                "a sidecar cannot capture its traffic",
                objects=(workload.ref,),
                fix="remove hostNetwork: true from the pod template, or keep it out of the mesh",
            )
        )
    unready = sorted(objects.name(p) for p in workload.pods if not (is_running(p) and is_ready(p)))
    if unready:
        problems.append(
            findings.make(
                findings.POD_NOT_READY,
                message=f"{workload.ref}: pod {unready[0]}{_more(len(unready))} is not running "
                "and ready",
                objects=(workload.ref,),
                fix=f"kubectl describe pod -n {workload.namespace} {unready[0]}",
            )
        )
    return problems


def _more(count: int) -> str:
    return f" and {count - 1} more" if count > 1 else ""
