"""The audit: every service's mesh posture and findings, and regressions against a baseline.

`audit` is pure: snapshot (and an optional baseline report as data) in, AuditReport out
(DESIGN.md, "Audit JSON"); `meshgate audit`, the chat `audit` verb and the watcher print or
compare it. The report models live in `workflows.report` and are re-exported here.

Without an explicit list of services, the audit covers every Service that has a selector,
outside the Istio root namespace and the Kubernetes system namespaces: a Service without a
selector (the API server's `default/kubernetes`, ExternalName services) has no pods to put in
the mesh, and the control plane is not something meshgate rolls out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workflows.audit import regressions
from workflows.audit.report import (
    SCHEMA,
    AuditReport,
    AuthzOut,
    BaselineInvalid,
    FindingOut,
    MtlsOut,
    Regression,
    RegressionKind,
    ServiceAudit,
    parse,
)
from workflows.mesh import objects, posture
from workflows.mesh.posture import ServicePosture
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.mesh.workloads import service_selector
from workflows.naming import ServiceRef

__all__ = [
    "SCHEMA",
    "AuditReport",
    "AuthzOut",
    "BaselineInvalid",
    "FindingOut",
    "MtlsOut",
    "Regression",
    "RegressionKind",
    "ServiceAudit",
    "audit",
    "default_services",
    "parse",
]

# Namespaces of Kubernetes itself; Istio's root namespace and istiod's are skipped too.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def default_services(snapshot: ClusterSnapshot) -> list[ServiceRef]:
    """The Services an audit covers when none are named (see the module docstring)."""
    skipped = SYSTEM_NAMESPACES | {snapshot.root_namespace, snapshot.istio_namespace}
    refs = {
        ServiceRef(namespace=objects.namespace(s), name=objects.name(s))
        for s in snapshot.of(Kind.SERVICE)
        if objects.namespace(s) not in skipped and service_selector(s)
    }
    return sorted(refs)


def audit(
    *,
    snapshot: ClusterSnapshot,
    services: Sequence[ServiceRef] | None = None,
    baseline: Mapping[str, Any] | AuditReport | None = None,
) -> AuditReport:
    """Audit `services` (default: default_services) and compare with `baseline` if given.

    `baseline` is a report, or its data as read from a file (the watch passes the stored
    baselines as a report). Raises BaselineInvalid when data is not a meshgate.audit/v1 report.
    """
    before = baseline if isinstance(baseline, AuditReport) or baseline is None else parse(baseline)
    refs = list(services) if services is not None else default_services(snapshot)
    postures = {str(ref): posture.assess(snapshot=snapshot, service=ref) for ref in refs}
    report = AuditReport(
        services=[service_audit(p) for p in postures.values()],
        unserved=sorted(kind.value for kind in snapshot.unserved),
    )
    if before is None:
        return report
    found = regressions.compare(
        baseline=before,
        current=report,
        postures=postures,
        root_namespace=snapshot.root_namespace,
    )
    return report.model_copy(update={"regressions": found})


def service_audit(service_posture: ServicePosture) -> ServiceAudit:
    """The report entry of one service posture."""
    return ServiceAudit(
        service=str(service_posture.service),
        sidecar=service_posture.sidecar,
        mtls=MtlsOut(
            mode=service_posture.mtls_mode,
            ports={str(port): mode for port, mode in service_posture.mtls_ports.items()},
        ),
        authz=AuthzOut(
            default=service_posture.authz_default,
            allow_all=service_posture.allow_all,
            policies=list(service_posture.policies),
        ),
        findings=[
            FindingOut(
                code=f.code,
                severity=f.severity,
                message=f.message,
                objects=list(f.objects),
                fix=f.fix,
            )
            for f in service_posture.findings
        ],
    )
