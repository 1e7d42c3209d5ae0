"""Checks of the inject phase: a control plane and ready pods before, a ready proxy after.

`control-plane-ready` asks `workflows.mesh.control_plane` whether an Istio injector webhook
would select the pods once the namespace is labelled, and whether its istiod has a ready pod.
`workloads-injected` (the permissive phase's gate) reads the same sidecar state per workload.
"""

from __future__ import annotations

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import listing, pod_check, prelude, workload_check
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh import control_plane, hygiene, index, objects, posture
from workflows.mesh.sidecars import ProxyState, SidecarState, proxy_state
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workload_posture import WorkloadPosture
from workflows.mesh.workloads import selected_pods, service_selector
from workflows.naming import ServiceRef


def _proxy_ready(pod: RawObject) -> bool:
    return proxy_state(pod) is ProxyState.READY


def _judge_injected(wp: WorkloadPosture) -> str | None:
    if wp.sidecar.state is SidecarState.INJECTED:
        return None
    absent = wp.sidecar.pods_in(ProxyState.ABSENT)
    not_ready = wp.sidecar.pods_in(ProxyState.NOT_READY)
    parts = [f"no istio-proxy in {listing(absent)}"] if absent else []
    parts += [f"istio-proxy not ready in {listing(not_ready)}"] if not_ready else []
    return f"{wp.workload.ref}: {'; '.join(parts) or wp.sidecar.state.value}"


CONTROL_PLANE_KINDS = (Kind.SERVICE, Kind.POD, Kind.NAMESPACE, Kind.MUTATING_WEBHOOK)


def control_plane_ready(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
    """An Istio injector webhook selects the service's pods once injection is on, and is served.

    Read before `inject` labels the namespace: the labels it will have after are judged.
    """
    service = prelude(snapshot, ref, CONTROL_PLANE_KINDS)
    if isinstance(service, CheckResult):
        return service
    namespace = index.of(snapshot).find(Kind.NAMESPACE, namespace="", name=ref.namespace)
    ns_labels = control_plane.labels_after_inject(namespace, ref.namespace)
    pods = selected_pods(snapshot=snapshot, service=service)
    pod_labels = objects.labels(pods[0]) if pods else service_selector(service)
    revision = control_plane.requested_revision(ns_labels)
    found = control_plane.injectors(
        snapshot=snapshot, namespace_labels=ns_labels, pod_labels=pod_labels
    )
    if not found:
        return CheckResult(
            Verdict.FAIL,
            reason=f"no Istio injection webhook selects pods of namespace {ref.namespace} "
            f"(revision {revision}): no control plane would inject them",
            fix=f"install istiod for revision {revision} (istioctl install, or the istiod Helm "
            "chart), or label the namespace with an installed revision (istioctl tag list)",
        )
    remote = [i.ref for i in found if i.service is None]
    if remote:
        return CheckResult(
            Verdict.UNKNOWN,
            reason=f"{listing(remote)} calls a URL (a remote istiod); meshgate cannot see it",
            fix="check the remote control plane by hand (istioctl remote-clusters)",
        )
    down = [
        f"{i.ref} calls Service {i.service[0]}/{i.service[1]}, which "
        + ("has no ready pod" if control_plane.service_exists(snapshot, i.service) else "is absent")
        for i in found
        if i.service is not None and not i.ready_pods
    ]
    if down:
        return CheckResult(
            Verdict.FAIL,
            reason=listing(down) + " (failurePolicy Fail: new pods would be refused)",
            fix="kubectl get pods -n istio-system -l app=istiod; fix istiod before injecting",
        )
    served = [f"{i.ref} -> {', '.join(i.ready_pods)}" for i in found]
    return CheckResult(Verdict.PASS, reason=f"revision {revision} served: {listing(served)}")


CHECKS: dict[str, CheckFunction] = {
    "control-plane-ready": control_plane_ready,
    "pods-ready": pod_check(
        holds=hygiene.READY_RULE.holds,
        meets=hygiene.READY_RULE.meets,
        fix=hygiene.READY_RULE.fix,
        empty=Verdict.FAIL,
    ),
    "sidecars-ready": pod_check(
        holds=_proxy_ready,
        meets="running a ready istio-proxy",
        fix="restart the workload after labelling the namespace; check istio-proxy logs",
        empty=Verdict.FAIL,
    ),
    "workloads-injected": workload_check(
        posture.SIDECAR_KINDS,
        _judge_injected,
        ok="every pod runs a ready istio-proxy",
        fix="the inject phase labels the namespace and restarts the workload",
    ),
}
