"""Sidecar state per workload: is injection asked for, and does every pod run a ready proxy.

Injection is asked for the way Istio's injector webhooks select pods: the namespace label
`istio-injection=enabled`, or a revision label `istio.io/rev` (when `istio-injection` is not
set), unless the pod says `sidecar.istio.io/inject: "false"` (label or annotation); in a
namespace with neither label, a pod label `sidecar.istio.io/inject: "true"` asks for it;
`istio-injection=disabled` turns it off for the namespace. What a pod actually runs is read
from the pod: an `istio-proxy` container, or an `istio-proxy` init container with
`restartPolicy: Always` (a native sidecar), and whether its status says ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import PROXY_CONTAINER, Workload

INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
INJECT_OVERRIDE = "sidecar.istio.io/inject"


class SidecarState(StrEnum):
    """Sidecar state of a workload or a service (DESIGN.md, Audit JSON `sidecar`)."""

    INJECTED = "injected"  # every pod runs a ready istio-proxy
    MISSING = "missing"  # no pod runs an istio-proxy
    PARTIAL = "partial"  # some pods run a ready proxy, others none or a proxy not ready
    UNKNOWN = "unknown"  # no pods, or pods or namespaces could not be read


class Injection(StrEnum):
    """Whether and why the injector would add a sidecar to the workload's new pods."""

    NAMESPACE = "namespace"  # namespace label istio-injection=enabled
    REVISION = "revision"  # namespace label istio.io/rev
    POD = "pod"  # pod label sidecar.istio.io/inject=true in an unlabelled namespace
    NAMESPACE_DISABLED = "namespace-disabled"  # namespace label istio-injection=disabled
    OPTED_OUT = "opted-out"  # pod label or annotation sidecar.istio.io/inject=false
    NOT_ENABLED = "not-enabled"  # nothing asks for injection

    @property
    def enabled(self) -> bool:
        """True when new pods get a sidecar."""
        return self in {Injection.NAMESPACE, Injection.REVISION, Injection.POD}


class ProxyState(StrEnum):
    """The proxy of one pod."""

    READY = "ready"  # an istio-proxy container that reports ready
    NOT_READY = "not-ready"  # an istio-proxy container that is not ready (yet)
    ABSENT = "absent"  # no istio-proxy container


@dataclass(frozen=True)
class WorkloadSidecar:
    """Sidecar facts of one workload."""

    workload: Workload
    state: SidecarState
    injection: Injection
    proxies: tuple[tuple[str, ProxyState], ...]

    def pods_in(self, state: ProxyState) -> list[str]:
        """Names of the pods whose proxy is in `state`."""
        return [pod for pod, proxy in self.proxies if proxy is state]


def proxy_state(pod: RawObject) -> ProxyState:
    """Whether the pod runs an istio-proxy and whether it is ready."""
    pod_spec = objects.spec(pod)
    status = objects.as_map(pod.get("status"))
    in_containers = any(
        objects.as_map(c).get("name") == PROXY_CONTAINER
        for c in objects.as_list(pod_spec.get("containers"))
    )
    native = any(
        objects.as_map(c).get("name") == PROXY_CONTAINER
        and objects.as_map(c).get("restartPolicy") == "Always"
        for c in objects.as_list(pod_spec.get("initContainers"))
    )
    if not in_containers and not native:
        return ProxyState.ABSENT
    statuses = "containerStatuses" if in_containers else "initContainerStatuses"
    for item in objects.as_list(status.get(statuses)):
        item_map = objects.as_map(item)
        if item_map.get("name") == PROXY_CONTAINER:
            return ProxyState.READY if item_map.get("ready") is True else ProxyState.NOT_READY
    return ProxyState.NOT_READY


def injection(*, namespace: RawObject | None, pod: RawObject) -> Injection:
    """Whether the injector would inject this pod (see the module docstring for the rules)."""
    ns_labels = objects.labels(namespace) if namespace is not None else {}
    pod_label = objects.labels(pod).get(INJECT_OVERRIDE, "").strip().lower()
    pod_annotation = objects.annotation_map(pod).get(INJECT_OVERRIDE, "").strip().lower()
    ns_injection = ns_labels.get(INJECTION_LABEL, "")
    if ns_injection == "disabled":
        return Injection.NAMESPACE_DISABLED
    if "false" in (pod_label, pod_annotation):
        return Injection.OPTED_OUT
    if ns_injection == "enabled":
        return Injection.NAMESPACE
    if ns_injection == "" and ns_labels.get(REVISION_LABEL):
        return Injection.REVISION
    if ns_injection == "" and pod_label == "true":
        return Injection.POD
    return Injection.NOT_ENABLED


def workload_sidecar(*, snapshot: ClusterSnapshot, workload: Workload) -> WorkloadSidecar:
    """The sidecar state of one workload (UNKNOWN when pods or namespaces are unreadable)."""
    namespace = index.of(snapshot).find(Kind.NAMESPACE, namespace="", name=workload.namespace)
    proxies = tuple((objects.name(pod), proxy_state(pod)) for pod in workload.pods)
    intent = injection(namespace=namespace, pod=workload.pods[0]) if workload.pods else None
    if not snapshot.readable(Kind.POD) or not workload.pods:
        state = SidecarState.UNKNOWN
    else:
        state = combine(_pod_state(proxy) for _, proxy in proxies)
    return WorkloadSidecar(
        workload=workload,
        state=state,
        injection=intent or Injection.NOT_ENABLED,
        proxies=proxies,
    )


def combine(states: Iterable[SidecarState]) -> SidecarState:
    """The state of a group from its members' states (UNKNOWN wins, empty is UNKNOWN)."""
    seen = set(states)
    if not seen or SidecarState.UNKNOWN in seen:
        return SidecarState.UNKNOWN
    if seen == {SidecarState.INJECTED}:
        return SidecarState.INJECTED
    if seen == {SidecarState.MISSING}:
        return SidecarState.MISSING
    return SidecarState.PARTIAL


def _pod_state(proxy: ProxyState) -> SidecarState:
    if proxy is ProxyState.READY:
        return SidecarState.INJECTED
    if proxy is ProxyState.ABSENT:
        return SidecarState.MISSING
    return SidecarState.PARTIAL


def findings_of(*, sidecar: WorkloadSidecar, intent_known: bool) -> list[Finding]:
    """MG301-MG304 for a workload; injection intent is only judged when namespaces were read."""
    side = sidecar
    workload = sidecar.workload
    ref = workload.ref
    problems = []
    absent = side.pods_in(ProxyState.ABSENT)
    if absent and intent_known and side.injection.enabled:
        problems.append(
            findings.make(
                findings.SIDECAR_NOT_INJECTED,
                message=f"{ref}: {len(absent)} of {len(side.proxies)} pods have no istio-proxy "
                f"although injection is enabled ({side.injection.value}); they predate it",
                objects=(ref,),
                fix=f"kubectl rollout restart {workload.kind.lower()} -n "
                f"{workload.namespace} {workload.name}",
            )
        )
    elif absent and intent_known and side.injection is Injection.OPTED_OUT:
        problems.append(
            findings.make(
                findings.INJECTION_OPTED_OUT,
                message=f"{ref}: pods set sidecar.istio.io/inject=false and run without a proxy",
                objects=(ref,),
                fix="remove sidecar.istio.io/inject=false from the pod template if it belongs "
                "in the mesh",
            )
        )
    elif absent and intent_known:
        problems.append(
            findings.make(
                findings.INJECTION_NOT_ENABLED,
                message=f"{ref}: no istio-proxy, and namespace {workload.namespace} does not "
                "enable injection"
                + (
                    " (istio-injection=disabled)"
                    if side.injection is Injection.NAMESPACE_DISABLED
                    else ""
                ),
                objects=(f"Namespace {workload.namespace}", ref),
                fix=f"kubectl label namespace {workload.namespace} istio-injection=enabled, "
                "then restart the workload (the inject phase does both)",
            )
        )
    not_ready = side.pods_in(ProxyState.NOT_READY)
    if not_ready:
        problems.append(
            findings.make(
                findings.SIDECAR_NOT_READY,
                message=f"{ref}: istio-proxy not ready in pod {', '.join(not_ready)}",
                objects=(ref,),
                fix=f"kubectl logs -n {workload.namespace} {not_ready[0]} -c istio-proxy",
            )
        )
    return problems
