"""The playbook's automated checks, implemented over mesh posture.

Maps check ids used in the default playbook to pure functions of (snapshot, service). Each
reads only the kinds it needs: one of them unreadable gives `unknown` naming the kind, a
service missing from the snapshot gives `fail` with reason "service not found", and a pass
says what was seen. Ids missing from CHECKS report `unknown` (see workflows.checks.run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from workflows.gates.checks import CheckFunction
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh import authz, hygiene, index, mtls, objects, posture, routing
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.sidecars import ProxyState, SidecarState, proxy_state
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import (
    containers_as_proxy_uid,
    is_ready,
    is_running,
    selected_pods,
    service_ports,
    uses_host_network,
    workloads_of,
)
from workflows.naming import ServiceRef

_LISTED = 3  # how many offenders a reason names before "and N more"


def _prelude(
    snapshot: ClusterSnapshot, ref: ServiceRef, kinds: Iterable[Kind]
) -> RawObject | CheckResult:
    """The Service, or the result that stops the check (unreadable kind, missing service)."""
    if not snapshot.readable(Kind.SERVICE):
        return _unknown(snapshot, [Kind.SERVICE])
    service = index.of(snapshot).find(Kind.SERVICE, namespace=ref.namespace, name=ref.name)
    if service is None:
        return CheckResult(
            Verdict.FAIL,
            reason="service not found",
            fix=f"check the name: kubectl get service -n {ref.namespace} {ref.name}",
        )
    missing = [kind for kind in kinds if not snapshot.readable(kind)]
    return _unknown(snapshot, missing) if missing else service


def _unknown(snapshot: ClusterSnapshot, kinds: list[Kind]) -> CheckResult:
    why = "; ".join(f"{kind.value}: {snapshot.errors[kind]}" for kind in kinds)
    return CheckResult(
        Verdict.UNKNOWN,
        reason=f"could not read {why}",
        fix="grant meshgate list on these kinds, or retry when the API server answers",
    )


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _from_findings(found: Iterable[Finding], *, ok: str) -> CheckResult:
    problems = list(found)
    if not problems:
        return CheckResult(Verdict.PASS, reason=ok)
    return CheckResult(
        Verdict.FAIL,
        reason="; ".join(f.message for f in problems[:_LISTED])
        + (f" (and {len(problems) - _LISTED} more)" if len(problems) > _LISTED else ""),
        fix=problems[0].fix,
    )


def ports_named(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
    """Service ports are named `<protocol>[-suffix]` or set appProtocol."""
    service = _prelude(snapshot, ref, [])
    if isinstance(service, CheckResult):
        return service
    ports = [
        f"{p.get('name') or p.get('appProtocol')} ({p.get('port')})" for p in service_ports(service)
    ]
    return _from_findings(
        hygiene.unnamed_ports(service),
        ok=f"ports declare their protocol: {_listing(ports)}"
        if ports
        else "the Service has no ports",
    )


def _pod_check(
    *,
    predicate: Callable[[RawObject], bool],
    what: str,
    fix: str,
    empty: Verdict,
) -> CheckFunction:
    """A check that every pod of the service satisfies `predicate` (`what` says it)."""

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = _prelude(snapshot, ref, [Kind.POD])
        if isinstance(service, CheckResult):
            return service
        pods = selected_pods(snapshot=snapshot, service=service)
        if not pods:
            return CheckResult(
                empty,
                reason=f"{objects.ref(service)} selects no pods",
                fix="check the Service selector and that its Deployment has replicas",
            )
        bad = sorted(objects.name(p) for p in pods if not predicate(p))
        if bad:
            return CheckResult(Verdict.FAIL, reason=f"pod {_listing(bad)}: not {what}", fix=fix)
        return CheckResult(Verdict.PASS, reason=f"all {len(pods)} pods {what}")

    return check


def _no_uid_1337(pod: RawObject) -> bool:
    return not containers_as_proxy_uid(pod)


def _no_host_network(pod: RawObject) -> bool:
    return not uses_host_network(pod)


def _running_and_ready(pod: RawObject) -> bool:
    return is_running(pod) and is_ready(pod)


def _proxy_ready(pod: RawObject) -> bool:
    return proxy_state(pod) is ProxyState.READY


def _workload_check(
    kinds: tuple[Kind, ...],
    judge: Callable[[posture.WorkloadPosture], str | None],
    *,
    ok: str,
    fix: str,
) -> CheckFunction:
    """A check over each workload's posture; `judge` returns a problem or None."""

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = _prelude(snapshot, ref, kinds)
        if isinstance(service, CheckResult):
            return service
        if not workloads_of(snapshot=snapshot, service=service):
            return CheckResult(
                Verdict.UNKNOWN,
                reason=f"{objects.ref(service)} selects no pods, so there is nothing to verify",
                fix="start the workload, then check again",
            )
        assessed = posture.assess(snapshot=snapshot, service=ref)
        problems = [p for wp in assessed.workloads if (p := judge(wp)) is not None]
        if problems:
            return CheckResult(Verdict.FAIL, reason=_listing(problems), fix=fix)
        names = [wp.workload.ref for wp in assessed.workloads]
        return CheckResult(Verdict.PASS, reason=f"{ok}: {_listing(names)}")

    return check


def _judge_injected(wp: posture.WorkloadPosture) -> str | None:
    if wp.sidecar.state is SidecarState.INJECTED:
        return None
    absent = wp.sidecar.pods_in(ProxyState.ABSENT)
    not_ready = wp.sidecar.pods_in(ProxyState.NOT_READY)
    parts = [f"no istio-proxy in {_listing(absent)}"] if absent else []
    parts += [f"istio-proxy not ready in {_listing(not_ready)}"] if not_ready else []
    return f"{wp.workload.ref}: {'; '.join(parts) or wp.sidecar.state.value}"


def _judge_mtls(floor: MtlsMode) -> Callable[[posture.WorkloadPosture], str | None]:
    def judge(wp: posture.WorkloadPosture) -> str | None:
        weak = [
            f"port {port} {item.mode.value} ({item.decided_by or 'Istio default'})"
            for port, item in sorted(wp.ports.items())
            if mtls.rank(item.mode) < mtls.rank(floor)
        ]
        if not wp.ports:
            weak.append("no target port found on its pods")
        return f"{wp.workload.ref}: {', '.join(weak)}" if weak else None

    return judge


def _judge_deny_by_default(wp: posture.WorkloadPosture) -> str | None:
    if wp.authz.deny_by_default:
        return None
    unenforced = [authz.policy_name(p) for p in wp.authz.policies if not authz.enforced(p)]
    extra = f" (not enforced: {', '.join(unenforced)})" if unenforced else ""
    return f"{wp.workload.ref}: no enforced ALLOW AuthorizationPolicy applies{extra}"


def _judge_dry_run(wp: posture.WorkloadPosture) -> str | None:
    present = [
        p
        for p in wp.authz.policies
        if objects.is_dry_run(p) and authz.action(p) is authz.Action.ALLOW
    ]
    if present:
        return None
    return f'{wp.workload.ref}: no ALLOW AuthorizationPolicy with istio.io/dry-run: "true" applies'


def no_tls_conflict(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
    """No DestinationRule toward the service sets a TLS mode a STRICT sidecar would refuse."""
    service = _prelude(snapshot, ref, [Kind.DESTINATION_RULE])
    if isinstance(service, CheckResult):
        return service
    found = posture.tls_conflicts(
        snapshot=snapshot, service=service, workloads=(), only_strict=False
    )
    return _from_findings(
        found,
        ok="no DestinationRule toward the service sets tls.mode DISABLE, SIMPLE or MUTUAL",
    )


def _routing_check(aspect: str) -> CheckFunction:
    outcome: Callable[..., routing.Outcome] = getattr(routing, aspect)

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = _prelude(snapshot, ref, posture.ROUTING_KINDS[aspect])
        if isinstance(service, CheckResult):
            return service
        result = outcome(snapshot=snapshot, service=service)
        if result.blocked:
            return CheckResult(
                Verdict.FAIL,
                reason=result.blocked,
                fix="start the workload (kubectl get pods -l SELECTOR), then check again",
            )
        if result.unknown and not result.findings:
            return CheckResult(
                Verdict.UNKNOWN,
                reason=result.unknown,
                fix="add the gateway's namespace to MESHGATE_SECRET_NAMESPACES and its Role",
            )
        return _from_findings(result.findings, ok=result.summary)

    return check


CHECKS: dict[str, CheckFunction] = {
    "ports-named": ports_named,
    "pods-running": _pod_check(
        predicate=is_running,
        what="running",
        fix="kubectl get pods -n NAMESPACE -l SELECTOR; look at events of the pending pods",
        empty=Verdict.FAIL,
    ),
    "no-uid-1337": _pod_check(
        predicate=_no_uid_1337,
        what="free of UID 1337 (the proxy's UID)",
        fix="set securityContext.runAsUser to another UID in the pod template",
        empty=Verdict.UNKNOWN,
    ),
    "no-host-network": _pod_check(
        predicate=_no_host_network,
        what="off the host network",
        fix="remove hostNetwork: true from the pod template, or keep the workload out of the mesh",
        empty=Verdict.UNKNOWN,
    ),
    "pods-ready": _pod_check(
        predicate=_running_and_ready,
        what="running and ready",
        fix="kubectl describe pod on the unready pods (readiness probe, image, resources)",
        empty=Verdict.FAIL,
    ),
    "sidecars-ready": _pod_check(
        predicate=_proxy_ready,
        what="running a ready istio-proxy",
        fix="restart the workload after labelling the namespace; check istio-proxy logs",
        empty=Verdict.FAIL,
    ),
    "workloads-injected": _workload_check(
        posture.SIDECAR_KINDS,
        _judge_injected,
        ok="every pod runs a ready istio-proxy",
        fix="the inject phase labels the namespace and restarts the workload",
    ),
    "mtls-at-least-permissive": _workload_check(
        posture.MTLS_KINDS,
        _judge_mtls(MtlsMode.PERMISSIVE),
        ok="effective mTLS PERMISSIVE or STRICT on every port",
        fix="remove the DISABLE PeerAuthentication or inject the sidecar",
    ),
    "mtls-strict": _workload_check(
        posture.MTLS_KINDS,
        _judge_mtls(MtlsMode.STRICT),
        ok="effective mTLS STRICT on every port",
        fix="apply a STRICT PeerAuthentication (strict phase) and check portLevelMtls overrides",
    ),
    "no-tls-conflict": no_tls_conflict,
    "authz-dry-run-present": _workload_check(
        posture.AUTHZ_KINDS,
        _judge_dry_run,
        ok="a dry-run ALLOW AuthorizationPolicy applies to",
        fix="the rbac-dry-run phase applies it; check its selector matches the pods",
    ),
    "deny-by-default": _workload_check(
        posture.AUTHZ_KINDS,
        _judge_deny_by_default,
        ok="an enforced ALLOW AuthorizationPolicy applies to",
        fix="apply the enforced allow-list (rbac phase); dry-run policies do not count",
    ),
    "virtualservice-bound": _routing_check("ingress"),
    "subsets-select-pods": _routing_check("subsets"),
    "serviceentries-declared": _routing_check("egress"),
    "certificates-ready": _routing_check("certificates"),
}
