"""Checks of the inject phase: pods ready before, a ready istio-proxy in every pod after.

`workloads-injected` (the permissive phase's gate) reads the same sidecar state per workload.
"""

from __future__ import annotations

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import listing, pod_check, workload_check
from workflows.gates.verdicts import Verdict
from workflows.mesh import hygiene, posture
from workflows.mesh.sidecars import ProxyState, SidecarState, proxy_state
from workflows.mesh.snapshot import RawObject
from workflows.mesh.workload_posture import WorkloadPosture


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


CHECKS: dict[str, CheckFunction] = {
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
