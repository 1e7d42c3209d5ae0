"""The workloads behind a Service: its selected pods, grouped by the controller that owns them.

A Service selects pods by label; Istio applies policies to pods by label too. meshgate reports
per workload (a Deployment, StatefulSet, DaemonSet, ...) because that is what a person restarts
or relabels: pods owned by a ReplicaSet count under the Deployment that owns the ReplicaSet.
Also here: the facts about pods the assess phase checks (running, ready, UID 1337,
hostNetwork) and how a Service port maps to a container port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workflows.mesh import index, objects
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

PROXY_CONTAINER = "istio-proxy"
"""The sidecar container's name, as Istio's injection template names it."""

PROXY_UID = 1337
"""The UID the proxy runs as; iptables exempts it from redirection (istio.io, app requirements)."""

# Containers the injector adds; they run as 1337 by design.
_ISTIO_CONTAINERS = frozenset({PROXY_CONTAINER, "istio-init", "istio-validation"})
# The ReplicaSet name is `<deployment>-<pod-template-hash>` (kube-controller-manager).
_TEMPLATE_HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True)
class Workload:
    """Pods of one controller selected by a Service."""

    namespace: str
    kind: str
    name: str
    pods: tuple[RawObject, ...]
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """`Kind ns/name`, as findings name it."""
        return f"{self.kind} {self.namespace}/{self.name}"


def service_selector(service: RawObject) -> dict[str, str]:
    """spec.selector of a Service (empty: the Service selects no pods by itself)."""
    return {
        str(k): str(v) for k, v in objects.as_map(objects.spec(service).get("selector")).items()
    }


def selected_pods(*, snapshot: ClusterSnapshot, service: RawObject) -> list[RawObject]:
    """Pods in the Service's namespace that its selector matches (none without a selector)."""
    selector = service_selector(service)
    if not selector:
        return []
    pods = index.of(snapshot).live_pods(objects.namespace(service))
    return [pod for pod in pods if objects.selects(selector, objects.labels(pod))]


def workloads_of(*, snapshot: ClusterSnapshot, service: RawObject) -> list[Workload]:
    """The Service's pods grouped by owning controller, sorted by reference."""
    groups: dict[tuple[str, str], list[RawObject]] = {}
    for pod in selected_pods(snapshot=snapshot, service=service):
        groups.setdefault(_owner(snapshot=snapshot, pod=pod), []).append(pod)
    ns = objects.namespace(service)
    found = [
        Workload(
            namespace=ns,
            kind=kind,
            name=name,
            pods=tuple(sorted(pods, key=objects.name)),
            labels=_common_labels(pods),
        )
        for (kind, name), pods in groups.items()
    ]
    return sorted(found, key=lambda w: w.ref)


def pods_in(*, snapshot: ClusterSnapshot, namespace: str | None) -> list[RawObject]:
    """Live pods of a namespace (every namespace when None)."""
    return list(index.of(snapshot).live_pods(namespace))


def is_running(pod: RawObject) -> bool:
    """status.phase is Running."""
    return objects.as_map(pod.get("status")).get("phase") == "Running"


def is_ready(pod: RawObject) -> bool:
    """The pod's Ready condition is True."""
    return objects.condition_true(pod, "Ready")


def uses_host_network(pod: RawObject) -> bool:
    """spec.hostNetwork is true."""
    return objects.spec(pod).get("hostNetwork") is True


def containers_as_proxy_uid(pod: RawObject) -> list[str]:
    """Names of the application containers that would run as UID 1337."""
    pod_spec = objects.spec(pod)
    pod_uid = objects.as_map(pod_spec.get("securityContext")).get("runAsUser")
    offenders = []
    for container in app_containers(pod):
        uid = objects.as_map(container.get("securityContext")).get("runAsUser", pod_uid)
        if uid == PROXY_UID:
            offenders.append(str(container.get("name", "")))
    return offenders


def app_containers(pod: RawObject) -> list[Mapping[str, object]]:
    """Containers and init containers other than the ones Istio injects."""
    pod_spec = objects.spec(pod)
    every = objects.as_list(pod_spec.get("initContainers")) + objects.as_list(
        pod_spec.get("containers")
    )
    return [c for c in every if isinstance(c, Mapping) and c.get("name") not in _ISTIO_CONTAINERS]


def container_port(*, pod: RawObject, target: object) -> int | None:
    """The container port a Service targetPort means on this pod (number, or port name)."""
    if isinstance(target, int):
        return target
    text = str(target)
    if text.isdigit():
        return int(text)
    for container in objects.as_list(objects.spec(pod).get("containers")):
        for port in objects.as_list(objects.as_map(container).get("ports")):
            port_map = objects.as_map(port)
            if port_map.get("name") == text and isinstance(port_map.get("containerPort"), int):
                return int(port_map["containerPort"])
    return None


def service_ports(service: RawObject) -> list[Mapping[str, object]]:
    """spec.ports of a Service."""
    return [objects.as_map(p) for p in objects.as_list(objects.spec(service).get("ports"))]


def resolved_ports(*, service: RawObject, pod: RawObject) -> dict[int, int]:
    """Service port number -> the container port it reaches on this pod.

    Resolved per pod, as the endpoints controller and Istio do: a named targetPort can mean
    different numbers on pods of one workload mid-rollout. Ports the pod does not name are left
    out (the pod is no endpoint for them).
    """
    resolved = {}
    for port in service_ports(service):
        number = port.get("port")
        target = container_port(pod=pod, target=port.get("targetPort", number))
        if isinstance(number, int) and target is not None:
            resolved[number] = target
    return resolved


def target_ports(*, service: RawObject, workload: Workload) -> list[int]:
    """Container ports the Service sends to on any pod of this workload, sorted, no duplicates."""
    ports = {
        target
        for pod in workload.pods
        for target in resolved_ports(service=service, pod=pod).values()
    }
    return sorted(ports)


def _owner(*, snapshot: ClusterSnapshot, pod: RawObject) -> tuple[str, str]:
    """(kind, name) of the controller that owns the pod; a bare pod owns itself."""
    owners: Sequence[object] = objects.as_list(objects.metadata(pod).get("ownerReferences"))
    controller = next(
        (objects.as_map(o) for o in owners if objects.as_map(o).get("controller") is True),
        objects.as_map(owners[0]) if owners else None,
    )
    if not controller:
        return ("Pod", objects.name(pod))
    kind, name = str(controller.get("kind", "")), str(controller.get("name", ""))
    if kind == "ReplicaSet":
        template_hash = objects.labels(pod).get(_TEMPLATE_HASH_LABEL, "")
        if template_hash and name.endswith(f"-{template_hash}"):
            return ("Deployment", name.removesuffix(f"-{template_hash}"))
        deployment = name.rpartition("-")[0]
        known = index.of(snapshot).find(
            Kind.DEPLOYMENT, namespace=objects.namespace(pod), name=deployment
        )
        if known is not None:
            return ("Deployment", deployment)
    return (kind, name)


def _common_labels(pods: Sequence[RawObject]) -> dict[str, str]:
    """Labels every pod of the workload carries (the template's, without the hash)."""
    common: dict[str, str] | None = None
    for pod in pods:
        pod_labels = objects.labels(pod)
        if common is None:
            common = dict(pod_labels)
        else:
            common = {k: v for k, v in common.items() if pod_labels.get(k) == v}
    result = common or {}
    result.pop(_TEMPLATE_HASH_LABEL, None)
    return result
