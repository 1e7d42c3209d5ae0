"""The posture of one workload of a service: sidecar, effective mTLS per port, authorization.

A workload without an istio-proxy accepts plaintext whatever its PeerAuthentication says, so
its effective mode is DISABLE, decided by the missing sidecar; so does a port a pod's proxy does
not capture (`traffic.sidecar.istio.io/excludeInboundPorts`, `includeInboundPorts`). A
workload in ambient mode is UNKNOWN (with MG309): ztunnel is not modelled. Target ports and
their protocols are resolved per pod, as Istio builds endpoints per pod; the protocols decide
which filter chains (HTTP, TCP) the authorization rules are judged on.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.mesh import authz, mtls, objects, protocols, sidecars
from workflows.mesh.authz import WorkloadAuthz
from workflows.mesh.mtls import MtlsMode, PeerScopes, PortMtls
from workflows.mesh.sidecars import Injection, ProxyState, SidecarState, WorkloadSidecar
from workflows.mesh.snapshot import ClusterSnapshot, RawObject
from workflows.mesh.workloads import Workload, resolved_ports, service_ports, target_ports

AMBIENT_CAUSE = "ambient mode (ztunnel; not modelled by meshgate)"


@dataclass(frozen=True)
class WorkloadPosture:
    """Everything meshgate knows about one workload of a service."""

    workload: Workload
    sidecar: WorkloadSidecar
    peer: PeerScopes
    ports: dict[int, PortMtls]
    authz: WorkloadAuthz

    @property
    def mode(self) -> MtlsMode:
        """The weakest effective mode over the workload's target ports."""
        return mtls.weakest(p.mode for p in self.ports.values())


def sidecar_cause(sidecar: WorkloadSidecar) -> str:
    """The object whose state explains a workload's missing sidecar."""
    if sidecar.injection in {Injection.NOT_ENABLED, Injection.NAMESPACE_DISABLED}:
        return f"Namespace {sidecar.workload.namespace}"
    return sidecar.workload.ref


def assess_workload(
    *, snapshot: ClusterSnapshot, service: RawObject, workload: Workload, decidable: bool
) -> WorkloadPosture:
    """The posture of one workload of `service`; `decidable` is False when mTLS inputs are
    unreadable (every port is then UNKNOWN)."""
    sidecar = sidecars.workload_sidecar(snapshot=snapshot, workload=workload)
    peer = mtls.scopes(snapshot=snapshot, workload=workload)
    ports = target_ports(service=service, workload=workload)
    if not decidable or sidecar.state is SidecarState.UNKNOWN:
        effective = {p: PortMtls(port=p, mode=MtlsMode.UNKNOWN) for p in ports}
    elif sidecar.injection is Injection.AMBIENT and sidecar.pods_in(ProxyState.ABSENT):
        # ztunnel may well speak mTLS for these pods: not modelled, so not DISABLE either.
        effective = {
            p: PortMtls(port=p, mode=MtlsMode.UNKNOWN, decided_by=AMBIENT_CAUSE) for p in ports
        }
    elif sidecar.pods_in(ProxyState.ABSENT):
        cause = sidecar_cause(sidecar)
        effective = {p: PortMtls(port=p, mode=MtlsMode.DISABLE, decided_by=cause) for p in ports}
    else:
        effective = _uncaptured(workload, mtls.effective(scopes=peer, ports=ports))
    return WorkloadPosture(
        workload=workload,
        sidecar=sidecar,
        peer=peer,
        ports=effective,
        authz=authz.workload_authz(
            snapshot=snapshot,
            workload=workload,
            chains=authz.chains_of(_protocols(service=service, workload=workload)),
        ),
    )


def _uncaptured(workload: Workload, ports: dict[int, PortMtls]) -> dict[int, PortMtls]:
    """Ports some pod's proxy does not capture take plaintext, whatever the policy says."""
    result = dict(ports)
    for port in ports:
        for pod in workload.pods:
            annotation = sidecars.uncaptured(pod, port)
            if annotation:
                cause = f"Pod {workload.namespace}/{objects.name(pod)} annotation {annotation}"
                result[port] = PortMtls(port=port, mode=MtlsMode.DISABLE, decided_by=cause)
                break
    return result


def _protocols(*, service: RawObject, workload: Workload) -> list[protocols.Protocol]:
    """Protocols of the Service ports that reach the workload's pods."""
    by_number = {
        p.get("port"): protocols.of_port(p) for p in service_ports(service) if p.get("port")
    }
    return [
        by_number[number]
        for pod in workload.pods
        for number in resolved_ports(service=service, pod=pod)
        if number in by_number
    ]
