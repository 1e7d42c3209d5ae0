"""Mesh posture of a service: sidecars, effective mTLS, authorization, and the findings.

`assess` is pure: it reads a ClusterSnapshot and returns a ServicePosture; it performs no I/O
(readers in `bot/` fill the snapshot, `workflows.audit` and the checks read the result).
The rules live in the modules it composes: `workloads` (which pods), `sidecars`, `mtls`,
`authz`, `hygiene` (assess-phase facts) and `routing`. Any kind a verdict needs that is in
`snapshot.errors` makes that verdict UNKNOWN and adds an MG001 finding; never a pass.

A workload without an istio-proxy accepts plaintext whatever its PeerAuthentication says, so
its effective mode is DISABLE, decided by the missing sidecar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from workflows.mesh import authz, findings, hygiene, index, mtls, objects, routing, sidecars
from workflows.mesh.authz import DefaultDecision, WorkloadAuthz
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import MtlsMode, PeerScopes, PortMtls
from workflows.mesh.sidecars import Injection, ProxyState, SidecarState, WorkloadSidecar
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import Workload, container_port, target_ports, workloads_of
from workflows.naming import ServiceRef

SIDECAR_KINDS = (Kind.SERVICE, Kind.POD)
MTLS_KINDS = (Kind.SERVICE, Kind.POD, Kind.PEER_AUTHENTICATION)
AUTHZ_KINDS = (Kind.SERVICE, Kind.POD, Kind.AUTHORIZATION_POLICY)
ROUTING_KINDS = {
    "ingress": (Kind.SERVICE, Kind.VIRTUAL_SERVICE, Kind.GATEWAY),
    "subsets": (Kind.SERVICE, Kind.POD, Kind.DESTINATION_RULE),
    "egress": (Kind.SERVICE, Kind.SERVICE_ENTRY),
    "certificates": (
        Kind.SERVICE,
        Kind.POD,
        Kind.VIRTUAL_SERVICE,
        Kind.GATEWAY,
        Kind.SECRET,
        Kind.CERTIFICATE,
    ),
}


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


@dataclass(frozen=True)
class ServicePosture:
    """The posture of one service, as the audit reports it."""

    service: ServiceRef
    found: bool
    workloads: tuple[WorkloadPosture, ...] = ()
    sidecar: SidecarState = SidecarState.UNKNOWN
    mtls_mode: MtlsMode = MtlsMode.UNKNOWN
    mtls_ports: dict[int, MtlsMode] = field(default_factory=dict)
    authz_default: DefaultDecision = DefaultDecision.UNKNOWN
    allow_all: bool = False
    policies: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    errors: dict[Kind, str] = field(default_factory=dict)


def unreadable(snapshot: ClusterSnapshot, kinds: Iterable[Kind]) -> dict[Kind, str]:
    """The kinds among `kinds` that could not be read, with why."""
    return {kind: snapshot.errors[kind] for kind in kinds if not snapshot.readable(kind)}


def mesh_default_cause(root_namespace: str) -> str:
    """The cause named when no PeerAuthentication applies and Istio's default holds."""
    return f"no PeerAuthentication in {root_namespace} (Istio default PERMISSIVE)"


def sidecar_cause(sidecar: WorkloadSidecar) -> str:
    """The object whose state explains a workload's missing sidecar."""
    if sidecar.injection in {Injection.NOT_ENABLED, Injection.NAMESPACE_DISABLED}:
        return f"Namespace {sidecar.workload.namespace}"
    return sidecar.workload.ref


def assess(*, snapshot: ClusterSnapshot, service: ServiceRef) -> ServicePosture:
    """The posture of `service` in `snapshot`, with every finding (pure)."""
    if not snapshot.readable(Kind.SERVICE):
        errors = unreadable(snapshot, (Kind.SERVICE,))
        return ServicePosture(
            service=service, found=False, findings=_read_errors(errors), errors=errors
        )
    raw = index.of(snapshot).find(Kind.SERVICE, namespace=service.namespace, name=service.name)
    if raw is None:
        missing = findings.make(
            findings.SERVICE_NOT_FOUND,
            message=f"Service {service} is not in {snapshot.source or 'the snapshot'}",
            objects=(f"Service {service}",),
            fix="check the namespace and name (kubectl get svc -n NAMESPACE)",
        )
        return ServicePosture(service=service, found=False, findings=(missing,))
    every_kind = {k for kinds in ROUTING_KINDS.values() for k in kinds}
    every_kind |= {*MTLS_KINDS, *AUTHZ_KINDS, Kind.NAMESPACE}
    errors = unreadable(snapshot, sorted(every_kind))
    found: list[Finding] = list(_read_errors(errors))
    workloads = [
        _workload(snapshot=snapshot, service=raw, workload=w)
        for w in workloads_of(snapshot=snapshot, service=raw)
    ]
    pods_known = snapshot.readable(Kind.POD)
    if pods_known and not workloads:
        found.append(
            findings.make(
                findings.NO_PODS,
                message=f"{objects.ref(raw)} selects no running pods; its posture is unknown",
                objects=(objects.ref(raw),),
                fix="check the Service selector and the Deployment (kubectl get pods -l ...)",
            )
        )
    found.extend(hygiene.unnamed_ports(raw))
    for wp in workloads:
        found.extend(hygiene.pod_findings(wp.workload))
        found.extend(
            sidecars.findings_of(sidecar=wp.sidecar, intent_known=snapshot.readable(Kind.NAMESPACE))
        )
        if snapshot.readable(Kind.PEER_AUTHENTICATION):
            found.extend(
                mtls.findings_of(
                    workload=wp.workload,
                    peer=wp.peer,
                    ports=wp.ports,
                    without_sidecar=bool(wp.sidecar.pods_in(ProxyState.ABSENT)),
                )
            )
        if snapshot.readable(Kind.AUTHORIZATION_POLICY):
            found.extend(authz.findings_of(workload_authz=wp.authz, mode=wp.mode))
    if snapshot.readable(Kind.DESTINATION_RULE) and snapshot.readable(Kind.PEER_AUTHENTICATION):
        found.extend(
            tls_conflicts(snapshot=snapshot, service=raw, workloads=workloads, only_strict=True)
        )
    if snapshot.readable(Kind.AUTHORIZATION_POLICY) and pods_known:
        found.extend(authz.orphan_findings(snapshot=snapshot, service=raw))
    for aspect, kinds in ROUTING_KINDS.items():
        if not unreadable(snapshot, kinds):
            found.extend(getattr(routing, aspect)(snapshot=snapshot, service=raw).findings)
    return _summarise(
        snapshot=snapshot, service=service, workloads=workloads, found=found, errors=errors
    )


def tls_conflicts(
    *,
    snapshot: ClusterSnapshot,
    service: RawObject,
    workloads: Iterable[WorkloadPosture],
    only_strict: bool,
) -> list[Finding]:
    """MG103: DestinationRule TLS modes toward the service that do not speak Istio mTLS.

    With `only_strict`, only those toward a port that is STRICT now (traffic breaks today);
    without, every one (traffic would break once STRICT is applied).
    """
    workloads = list(workloads)
    strict_targets = {
        port for wp in workloads for port, item in wp.ports.items() if item.mode is MtlsMode.STRICT
    }
    problems: dict[str, Finding] = {}
    for setting in mtls.tls_settings(snapshot=snapshot, service=service):
        if setting.mode not in mtls.CONFLICTING_TLS:
            continue
        targets = _targets_of(
            service=service, workloads=workloads, service_port=setting.service_port
        )
        if only_strict and not targets & strict_targets:
            continue
        rule = objects.ref(setting.rule)
        problems.setdefault(
            f"{rule} {setting.where}",
            findings.make(
                findings.TLS_CONFLICT,
                message=f"{rule} sets tls.mode {setting.mode} ({setting.where}) toward "
                f"{objects.ref(service)}; a STRICT sidecar refuses it (503)",
                objects=(rule,),
                fix="set tls.mode ISTIO_MUTUAL or remove the tls block from the DestinationRule",
            ),
        )
    return [problems[key] for key in sorted(problems)]


def _workload(
    *, snapshot: ClusterSnapshot, service: RawObject, workload: Workload
) -> WorkloadPosture:
    sidecar = sidecars.workload_sidecar(snapshot=snapshot, workload=workload)
    peer = mtls.scopes(snapshot=snapshot, workload=workload)
    ports = target_ports(service=service, workload=workload)
    if not snapshot.readable(Kind.PEER_AUTHENTICATION) or sidecar.state is SidecarState.UNKNOWN:
        effective = {p: PortMtls(port=p, mode=MtlsMode.UNKNOWN) for p in ports}
    elif sidecar.pods_in(ProxyState.ABSENT):
        cause = sidecar_cause(sidecar)
        effective = {p: PortMtls(port=p, mode=MtlsMode.DISABLE, decided_by=cause) for p in ports}
    else:
        effective = mtls.effective(scopes=peer, ports=ports)
    return WorkloadPosture(
        workload=workload,
        sidecar=sidecar,
        peer=peer,
        ports=effective,
        authz=authz.workload_authz(snapshot=snapshot, workload=workload),
    )


def _summarise(
    *,
    snapshot: ClusterSnapshot,
    service: ServiceRef,
    workloads: list[WorkloadPosture],
    found: list[Finding],
    errors: dict[Kind, str],
) -> ServicePosture:
    port_modes: dict[int, list[MtlsMode]] = {}
    for wp in workloads:
        for port, item in wp.ports.items():
            port_modes.setdefault(port, []).append(item.mode)
    ports = {port: mtls.weakest(modes) for port, modes in sorted(port_modes.items())}
    mode = mtls.weakest(ports.values()) if all(wp.ports for wp in workloads) else MtlsMode.UNKNOWN
    if (
        not snapshot.readable(Kind.AUTHORIZATION_POLICY)
        or not snapshot.readable(Kind.POD)
        or not workloads
    ):
        default = DefaultDecision.UNKNOWN
    elif all(wp.authz.deny_by_default for wp in workloads):
        default = DefaultDecision.DENY
    else:
        default = DefaultDecision.ALLOW
    policies = sorted({authz.policy_name(p) for wp in workloads for p in wp.authz.policies})
    unique = list({(f.code, f.message): f for f in found}.values())
    return ServicePosture(
        service=service,
        found=True,
        workloads=tuple(workloads),
        sidecar=sidecars.combine(wp.sidecar.state for wp in workloads),
        mtls_mode=mode,
        mtls_ports=ports,
        authz_default=default,
        allow_all=any(wp.authz.allow_all_by for wp in workloads),
        policies=tuple(policies),
        findings=tuple(sorted(unique, key=findings.sort_key)),
        errors=errors,
    )


def _read_errors(errors: dict[Kind, str]) -> tuple[Finding, ...]:
    return tuple(
        findings.make(
            findings.READ_ERROR,
            message=f"could not read {kind.value}: {why}; verdicts that need it are unknown",
            fix="grant list on this kind to meshgate's identity, or retry when the API answers",
        )
        for kind, why in errors.items()
    )


def _targets_of(
    *, service: RawObject, workloads: list[WorkloadPosture], service_port: int | None
) -> set[int]:
    """Container ports behind a Service port (all target ports when None)."""
    if service_port is None:
        return {port for wp in workloads for port in wp.ports}
    targets = set()
    for port in objects.as_list(objects.spec(service).get("ports")):
        port_map = objects.as_map(port)
        if port_map.get("port") == service_port:
            for wp in workloads:
                for pod in wp.workload.pods[:1]:
                    resolved = container_port(
                        pod=pod, target=port_map.get("targetPort", service_port)
                    )
                    if resolved is not None:
                        targets.add(resolved)
    return targets
