"""Is there a control plane to inject a namespace's pods: a webhook that selects them, served.

The API server calls every MutatingWebhookConfiguration webhook whose `namespaceSelector`
matches the pod's namespace and whose `objectSelector` matches the pod (Kubernetes admission;
Istio's selectors per revision are in manifests/charts/istio-control/istio-discovery/templates/
mutatingwebhook.yaml, see `sidecars`). Istio's injector webhooks are named
`*sidecar-injector.istio.io`; each calls istiod of its revision through `clientConfig.service`
(`istiod` or `istiod-<rev>`), or a URL for a remote istiod. Injection works when at least one
injector selects the pod after the inject phase labels its namespace, and the Service it calls
has a ready pod. The webhooks' failurePolicy is Fail, so a webhook whose istiod is down blocks
pod creation: every selecting injector must be served.

Label selectors are evaluated as Kubernetes does (metav1.LabelSelector: matchLabels AND each
matchExpression, operators In, NotIn, Exists, DoesNotExist; an empty selector matches all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workflows.mesh import index, objects
from workflows.mesh.sidecars import INJECTION_LABEL, REVISION_LABEL
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import is_ready, is_running, selected_pods

INJECTOR_SUFFIX = "sidecar-injector.istio.io"
# Set by the API server on every namespace (Kubernetes 1.22+); Istio's `auto.` webhook reads it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Injector:
    """One injector webhook that selects the pods, and what serves it."""

    configuration: RawObject
    name: str
    service: tuple[str, str] | None  # (namespace, name) of istiod; None when it calls a URL
    ready_pods: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """`MutatingWebhookConfiguration name/webhook`."""
        return f"{objects.ref(self.configuration)} webhook {self.name}"


def selector_matches(selector: object, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics (None or {} matches everything)."""
    sel = objects.as_map(selector)
    match = {str(k): str(v) for k, v in objects.as_map(sel.get("matchLabels")).items()}
    if not objects.selects(match, labels):
        return False
    for expression in objects.as_list(sel.get("matchExpressions")):
        exp = objects.as_map(expression)
        key, operator = str(exp.get("key", "")), str(exp.get("operator", ""))
        values = {str(v) for v in objects.as_list(exp.get("values"))}
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in {"In", "NotIn", "Exists", "DoesNotExist"}:
            return False  # the API server rejects other operators; match nothing
    return True


def labels_after_inject(namespace: RawObject | None, name: str) -> dict[str, str]:
    """The namespace's labels once the inject phase has run (workflows.changes.actions)."""
    labels = objects.labels(namespace) if namespace is not None else {}
    labels.setdefault(NAMESPACE_NAME_LABEL, name)
    if labels.get(INJECTION_LABEL) != "enabled" and REVISION_LABEL not in labels:
        labels[INJECTION_LABEL] = "enabled"
    return labels


def requested_revision(namespace_labels: Mapping[str, str]) -> str:
    """The revision a namespace asks for: its `istio.io/rev`, unless istio-injection wins."""
    if INJECTION_LABEL in namespace_labels or not namespace_labels.get(REVISION_LABEL):
        return "default"
    return namespace_labels[REVISION_LABEL]


def injectors(
    *, snapshot: ClusterSnapshot, namespace_labels: Mapping[str, str], pod_labels: Mapping[str, str]
) -> list[Injector]:
    """Istio's injector webhooks the API server would call for such a pod, with their istiod."""
    found = []
    for configuration in snapshot.of(Kind.MUTATING_WEBHOOK):
        for webhook in objects.as_list(configuration.get("webhooks")):
            hook = objects.as_map(webhook)
            name = str(hook.get("name", ""))
            if not name.endswith(INJECTOR_SUFFIX):
                continue
            if not selector_matches(hook.get("namespaceSelector"), namespace_labels):
                continue
            if not selector_matches(hook.get("objectSelector"), pod_labels):
                continue
            client = objects.as_map(hook.get("clientConfig"))
            service = objects.as_map(client.get("service"))
            if not service:
                found.append(Injector(configuration, name, None))
                continue
            target = (str(service.get("namespace", "")), str(service.get("name", "")))
            found.append(Injector(configuration, name, target, _ready(snapshot, target)))
    return found


def _ready(snapshot: ClusterSnapshot, target: tuple[str, str]) -> tuple[str, ...]:
    istiod = index.of(snapshot).find(Kind.SERVICE, namespace=target[0], name=target[1])
    if istiod is None:
        return ()
    pods = selected_pods(snapshot=snapshot, service=istiod)
    return tuple(sorted(objects.name(p) for p in pods if is_running(p) and is_ready(p)))


def service_exists(snapshot: ClusterSnapshot, target: tuple[str, str]) -> bool:
    """True when the Service an injector calls is in the snapshot."""
    return index.of(snapshot).find(Kind.SERVICE, namespace=target[0], name=target[1]) is not None
