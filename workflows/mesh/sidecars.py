"""Sidecar state per workload: is injection asked for, and does every pod run a ready proxy.

Whether a new pod gets a sidecar is decided twice, and meshgate follows both:

1. The API server calls Istio's webhook only for pods its selectors match (istio/istio
   manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml):
   `rev.namespace`: namespace `istio.io/rev=<rev>` without `istio-injection`; `rev.object`: a
   namespace with neither label and pod label `istio.io/rev=<rev>`; `namespace`: namespace
   `istio-injection=enabled`; `object`: a namespace with neither label and pod label
   `sidecar.istio.io/inject=true` without `istio.io/rev`. Every one but `object` skips pods
   labelled `sidecar.istio.io/inject=false`. Label values match exactly (`False` is not `false`).
2. The webhook's `injectRequired` (pkg/kube/inject/inject.go) then skips hostNetwork pods and
   the namespaces in IgnoredNamespaces (pkg/kube/inject/initializer.go), and reads
   `sidecar.istio.io/inject` from the pod label, or the annotation when there is no label:
   exactly `"true"` or `"false"`; any other value falls back to the injector policy (enabled
   by default), so `"yes"` or `"False"` inject.

A namespace or pod in ambient mode (`istio.io/dataplane-mode=ambient`) is served by ztunnel,
which meshgate does not model: such a workload gets AMBIENT and an MG309 finding, never a
silent DISABLE. What a pod actually runs is read from the pod: an `istio-proxy` container, or
an `istio-proxy` init container with `restartPolicy: Always` (a native sidecar), and whether
its status says ready. `uncaptured` tells which container ports the proxy does not capture
(`traffic.sidecar.istio.io/includeInboundPorts` and `excludeInboundPorts`, as istio-iptables
reads them in tools/istio-iptables/pkg/capture/run.go, handleInboundPortsInclude).
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
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
AMBIENT_REDIRECTION = "ambient.istio.io/redirection"  # set to "enabled" by istio-cni
INCLUDE_INBOUND = "traffic.sidecar.istio.io/includeInboundPorts"
EXCLUDE_INBOUND = "traffic.sidecar.istio.io/excludeInboundPorts"
# IgnoredNamespaces in pkg/kube/inject/initializer.go: never injected.
IGNORED_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)


class SidecarState(StrEnum):
    """Sidecar state of a workload or a service (DESIGN.md, Audit JSON `sidecar`)."""

    INJECTED = "injected"  # every pod runs a ready istio-proxy
    MISSING = "missing"  # no pod runs an istio-proxy
    PARTIAL = "partial"  # some pods run a ready proxy, others none or a proxy not ready
    UNKNOWN = "unknown"  # no pods, or pods or namespaces could not be read


class Injection(StrEnum):
    """Whether and why the injector would add a sidecar to the workload's new pods."""

    NAMESPACE = "namespace"  # namespace label istio-injection=enabled
    REVISION = "revision"  # namespace label istio.io/rev (or the pod's, in an unlabelled one)
    POD = "pod"  # pod label sidecar.istio.io/inject=true in an unlabelled namespace
    NAMESPACE_DISABLED = "namespace-disabled"  # namespace label istio-injection not enabled
    OPTED_OUT = "opted-out"  # pod label (or annotation) sidecar.istio.io/inject=false
    HOST_NETWORK = "host-network"  # injectRequired never injects hostNetwork pods
    IGNORED_NAMESPACE = "ignored-namespace"  # kube-system and the like: never injected
    AMBIENT = "ambient"  # istio.io/dataplane-mode=ambient: ztunnel, not a sidecar
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
    """Whether Istio's webhook would inject this pod (see the module docstring for the rules)."""
    ns_labels = objects.labels(namespace) if namespace is not None else {}
    pod_labels = objects.labels(pod)
    if in_ambient(namespace=namespace, pod=pod):
        return Injection.AMBIENT
    selected = _webhook_selects(ns_labels=ns_labels, pod_labels=pod_labels)
    if selected is None:
        if pod_labels.get(INJECT_OVERRIDE) == "false":
            return Injection.OPTED_OUT
        if INJECTION_LABEL in ns_labels:
            return Injection.NAMESPACE_DISABLED
        return Injection.NOT_ENABLED
    if objects.spec(pod).get("hostNetwork") is True:
        return Injection.HOST_NETWORK
    if objects.namespace(pod) in IGNORED_NAMESPACES:
        return Injection.IGNORED_NAMESPACE
    # injectRequired: the label wins over the annotation; only exact "true"/"false" count.
    override = pod_labels.get(INJECT_OVERRIDE, objects.annotation_map(pod).get(INJECT_OVERRIDE))
    if override == "false":
        return Injection.OPTED_OUT
    return selected


def _webhook_selects(*, ns_labels: dict[str, str], pod_labels: dict[str, str]) -> Injection | None:
    """Which of Istio's injection webhooks the API server would call for the pod, if any."""
    not_false = pod_labels.get(INJECT_OVERRIDE) != "false"
    if ns_labels.get(INJECTION_LABEL) == "enabled":
        return Injection.NAMESPACE if not_false else None
    if INJECTION_LABEL in ns_labels:
        return None
    if ns_labels.get(REVISION_LABEL):
        return Injection.REVISION if not_false else None
    if REVISION_LABEL in ns_labels:
        return None
    if pod_labels.get(REVISION_LABEL):
        return Injection.REVISION if not_false else None
    if pod_labels.get(INJECT_OVERRIDE) == "true":
        return Injection.POD
    return None


def in_ambient(*, namespace: RawObject | None, pod: RawObject) -> bool:
    """True when ztunnel serves the pod (ambient mode) rather than a sidecar."""
    if proxy_state(pod) is not ProxyState.ABSENT:
        return False
    if objects.annotation_map(pod).get(AMBIENT_REDIRECTION) == "enabled":
        return True
    pod_mode = objects.labels(pod).get(DATAPLANE_MODE_LABEL)
    if pod_mode is not None:
        return pod_mode == "ambient"
    ns_labels = objects.labels(namespace) if namespace is not None else {}
    return ns_labels.get(DATAPLANE_MODE_LABEL) == "ambient"


def uncaptured(pod: RawObject, port: int) -> str:
    """The annotation that keeps `port` from the proxy on this pod ("" when it is captured)."""
    notes = objects.annotation_map(pod)
    include = notes.get(INCLUDE_INBOUND, "*").strip()
    if include != "*":
        return "" if str(port) in _port_list(include) else INCLUDE_INBOUND
    if str(port) in _port_list(notes.get(EXCLUDE_INBOUND, "")):
        return EXCLUDE_INBOUND
    return ""


def _port_list(text: str) -> set[str]:
    return {item.strip() for item in text.split(",") if item.strip()}


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
    elif absent and intent_known and side.injection is Injection.AMBIENT:
        problems.append(
            findings.make(
                findings.AMBIENT_MODE,
                message=f"{ref}: runs in ambient mode (ztunnel, istio.io/dataplane-mode=ambient); "
                "meshgate does not model ambient, so its mTLS and authorization are unknown",
                objects=(ref,),
                fix="check it with istioctl ztunnel-config; meshgate's phases assume sidecars",
            )
        )
    elif absent and intent_known:
        problems.append(
            findings.make(
                findings.INJECTION_NOT_ENABLED,
                message=f"{ref}: no istio-proxy, and "
                + _not_enabled_because(side.injection, workload.namespace),
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


def _not_enabled_because(intent: Injection, namespace: str) -> str:
    return {
        Injection.NAMESPACE_DISABLED: f"namespace {namespace} sets istio-injection to a value "
        "other than enabled",
        Injection.HOST_NETWORK: "its pods use hostNetwork, which Istio never injects",
        Injection.IGNORED_NAMESPACE: f"Istio never injects pods in namespace {namespace}",
    }.get(intent, f"namespace {namespace} does not enable injection")
