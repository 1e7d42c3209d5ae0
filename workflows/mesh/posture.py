"""Mesh posture of a service: sidecars, effective mTLS, authorization, and the findings.

`assess` is pure: it reads a ClusterSnapshot and returns a ServicePosture; it performs no I/O
(readers in `bot/` fill the snapshot, `workflows.audit` and the checks read the result).
The rules live in the modules it composes: `workloads` (which pods), `workload_posture` (one
workload: sidecar, mTLS per port, authorization), `sidecars`, `mtls`, `authz` and
`authz_findings`, `hygiene` (assess-phase facts), and the routing aspects `routing` (ingress),
`subsets`, `egress` and `certificates`. Any kind a verdict needs that cannot be read makes that
verdict UNKNOWN and adds an MG001 finding; never a pass. The mesh config (ConfigMap `istio`)
names the root namespace, so mTLS and authorization verdicts need it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from workflows.mesh import (
    authz,
    authz_findings,
    certificates,
    egress,
    findings,
    hygiene,
    index,
    mtls,
    objects,
    routing,
    sidecars,
    subsets,
    workload_posture,
)
from workflows.mesh.authz import DefaultDecision
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.sidecars import ProxyState, SidecarState
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workload_posture import WorkloadPosture
from workflows.mesh.workloads import (
    resolved_ports,
    workloads_of,
)
from workflows.naming import ServiceRef

SIDECAR_KINDS = (Kind.SERVICE, Kind.POD)
# The mesh config names the root namespace, where mesh-wide policies live.
MTLS_KINDS = (Kind.SERVICE, Kind.POD, Kind.PEER_AUTHENTICATION, Kind.CONFIG_MAP)
AUTHZ_KINDS = (Kind.SERVICE, Kind.POD, Kind.AUTHORIZATION_POLICY, Kind.CONFIG_MAP)
ROUTING_KINDS = {
    "ingress": (Kind.SERVICE, Kind.POD, Kind.VIRTUAL_SERVICE, Kind.GATEWAY),
    "subsets": (Kind.SERVICE, Kind.POD, Kind.VIRTUAL_SERVICE, Kind.DESTINATION_RULE),
    "egress": (Kind.SERVICE, Kind.POD, Kind.SERVICE_ENTRY, Kind.SIDECAR, Kind.CONFIG_MAP),
    "certificates": (
        Kind.SERVICE,
        Kind.POD,
        Kind.VIRTUAL_SERVICE,
        Kind.GATEWAY,
        Kind.SECRET,
        Kind.CERTIFICATE,
    ),
}
ROUTING_ASPECTS: dict[str, Callable[..., routing.Outcome]] = {
    "ingress": routing.ingress,
    "subsets": subsets.subsets,
    "egress": egress.egress,
    "certificates": certificates.certificates,
}


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
    return {kind: snapshot.error(kind) for kind in kinds if not snapshot.readable(kind)}


def mesh_default_cause(root_namespace: str) -> str:
    """The cause named when no PeerAuthentication applies and Istio's default holds."""
    return f"no PeerAuthentication in {root_namespace} (Istio default PERMISSIVE)"


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
        workload_posture.assess_workload(
            snapshot=snapshot,
            service=raw,
            workload=w,
            decidable=not unreadable(snapshot, MTLS_KINDS),
        )
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
            found.extend(authz_findings.findings_of(workload_authz=wp.authz, mode=wp.mode))
    if snapshot.readable(Kind.DESTINATION_RULE) and snapshot.readable(Kind.PEER_AUTHENTICATION):
        found.extend(
            tls_conflicts(snapshot=snapshot, service=raw, workloads=workloads, only_strict=True)
        )
    if snapshot.readable(Kind.AUTHORIZATION_POLICY) and pods_known:
        found.extend(authz_findings.orphan_findings(snapshot=snapshot, service=raw))
    for aspect, kinds in ROUTING_KINDS.items():
        if not unreadable(snapshot, kinds):
            found.extend(ROUTING_ASPECTS[aspect](snapshot=snapshot, service=raw).findings)
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
    if unreadable(snapshot, AUTHZ_KINDS) or not workloads:
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
    """Container ports behind a Service port on any pod (all target ports when None)."""
    if service_port is None:
        return {port for wp in workloads for port in wp.ports}
    return {
        target
        for wp in workloads
        for pod in wp.workload.pods
        if (target := resolved_ports(service=service, pod=pod).get(service_port)) is not None
    }
