"""Builders of the Kubernetes and Istio objects posture tests put in snapshots.

Each returns the raw API JSON the readers would produce, with only the fields a rule reads.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import reference
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh.snapshot import RawObject

REFERENCE = reference.ISTIO
"""Istio's sample manifests and task policies (see tests/reference/README.md)."""


def reference_docs(relative: str, *, namespace: str | None = None) -> list[RawObject]:
    """The documents of a reference YAML file, namespaced like `kubectl apply -n` would."""
    docs = [d for d in yaml.safe_load_all((REFERENCE / relative).read_text("utf-8")) if d]
    if namespace is not None:
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("namespace", namespace)
    return docs


def namespace(name: str, labels: dict[str, str] | None = None) -> RawObject:
    """A Namespace with labels."""
    meta = {"name": name, "labels": dict(labels or {})}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def injected_namespace(name: str) -> RawObject:
    """A Namespace labelled istio-injection=enabled."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"istio-injection": "enabled"}},
    }


def service(
    name: str,
    ns: str = "shop",
    *,
    selector: dict[str, str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
) -> RawObject:
    """A Service selecting `app: <name>` on port 80 -> 8080 named http, unless told otherwise."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": {"app": name} if selector is None else selector,
            "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }


def workload_pod(
    app: str,
    ns: str = "shop",
    *,
    version: str = "v1",
    index: int = 0,
    proxy: str | None = "ready",
    **options: Any,
) -> RawObject:
    """A pod of Deployment `<app>-<version>` labelled app/version, with a proxy by default."""
    deployment = f"{app}-{version}"
    labels = {"app": app, "version": version, "pod-template-hash": kubelet.TEMPLATE_HASH}
    labels.update(options.pop("labels", {}))
    return kubelet.pod(
        name=f"{deployment}-{kubelet.TEMPLATE_HASH}-p{index}",
        namespace=ns,
        labels=labels,
        owner=("ReplicaSet", f"{deployment}-{kubelet.TEMPLATE_HASH}"),
        proxy=proxy,
        **options,
    )


def peer_authentication(
    name: str,
    ns: str,
    mode: str | None = None,
    *,
    selector: dict[str, str] | None = None,
    ports: dict[Any, str | None] | None = None,
    created: str | None = None,
) -> RawObject:
    """A PeerAuthentication; `mode=None` leaves mtls unset, `ports` sets portLevelMtls."""
    spec: dict[str, Any] = {}
    if mode is not None:
        spec["mtls"] = {"mode": mode}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    if ports is not None:
        spec["portLevelMtls"] = {p: ({"mode": m} if m else {}) for p, m in ports.items()}
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if created is not None:
        meta["creationTimestamp"] = created
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": meta,
        "spec": spec,
    }


def authorization_policy(
    name: str,
    ns: str,
    *,
    spec: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> RawObject:
    """An AuthorizationPolicy with the given spec (`{}` when None)."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if dry_run:
        meta["annotations"] = {"istio.io/dry-run": "true"}
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": meta,
        "spec": spec if spec is not None else {},
    }


def destination_rule(
    name: str, ns: str, *, host: str, spec: dict[str, Any] | None = None
) -> RawObject:
    """A DestinationRule for `host` with more spec fields."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"host": host, **(spec or {})},
    }


def istio_object(kind: str, name: str, ns: str, spec: dict[str, Any]) -> RawObject:
    """Any networking.istio.io object (VirtualService, Gateway, ServiceEntry)."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def secret(name: str, ns: str) -> RawObject:
    """A TLS Secret, name and type only (readers drop data)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": "kubernetes.io/tls",
    }


def certificate(
    name: str,
    ns: str,
    *,
    secret_name: str,
    ready: bool,
    dns_names: tuple[str, ...] = ("shop.example.com",),
) -> RawObject:
    """A cert-manager Certificate with its Ready condition."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"secretName": secret_name, "dnsNames": list(dns_names)},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def mesh_config(
    *, outbound: str | None = None, root: str | None = None, ns: str = "istio-system"
) -> RawObject:
    """ConfigMap `istio` with a `mesh` config setting outboundTrafficPolicy and rootNamespace."""
    mesh: dict[str, Any] = {}
    if outbound is not None:
        mesh["outboundTrafficPolicy"] = {"mode": outbound}
    if root is not None:
        mesh["rootNamespace"] = root
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": ns},
        "data": {"mesh": yaml.safe_dump(mesh)},
    }


def sidecar(
    name: str,
    ns: str,
    *,
    outbound: str | None = None,
    selector: dict[str, str] | None = None,
    egress: list[str] | None = None,
) -> RawObject:
    """A Sidecar with an outboundTrafficPolicy, a workloadSelector and egress hosts."""
    spec: dict[str, Any] = {}
    if egress is not None:
        spec["egress"] = [{"hosts": egress}]
    if outbound is not None:
        spec["outboundTrafficPolicy"] = {"mode": outbound}
    if selector is not None:
        spec["workloadSelector"] = {"labels": selector}
    return istio_object("Sidecar", name, ns, spec)


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


def injector_webhooks(revision: str = "", *, tag: str = "", url: str = "") -> RawObject:
    """Istio's MutatingWebhookConfiguration for a revision, written from its Helm template.

    manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml: `rev.namespace`
    and `rev.object` for the revision (or `tag`), plus `namespace` and `object` for the default
    revision. The webhooks call `istiod[-<revision>]` in istio-system, or `url`.
    """
    rev = tag or revision or "default"
    client: dict[str, Any] = (
        {"url": url}
        if url
        else {"service": {"name": f"istiod-{revision}" if revision else "istiod",
                          "namespace": "istio-system", "path": "/inject", "port": 443}}
    )  # fmt: skip
    not_false = _expr("sidecar.istio.io/inject", "NotIn", "false")
    hooks = [
        {"name": "rev.namespace.sidecar-injector.istio.io",
         "namespaceSelector": {"matchExpressions": [_expr("istio.io/rev", "In", rev),
                                                    _expr("istio-injection", "DoesNotExist")]},
         "objectSelector": {"matchExpressions": [not_false]}},
        {"name": "rev.object.sidecar-injector.istio.io",
         "namespaceSelector": {"matchExpressions": [_expr("istio.io/rev", "DoesNotExist"),
                                                    _expr("istio-injection", "DoesNotExist")]},
         "objectSelector": {"matchExpressions": [not_false, _expr("istio.io/rev", "In", rev)]}},
    ]  # fmt: skip
    if rev == "default":
        hooks += [
            {"name": "namespace.sidecar-injector.istio.io",
             "namespaceSelector": {"matchExpressions": [_expr("istio-injection", "In", "enabled")]},
             "objectSelector": {"matchExpressions": [not_false]}},
            {"name": "object.sidecar-injector.istio.io",
             "namespaceSelector": {"matchExpressions": [_expr("istio-injection", "DoesNotExist"),
                                                        _expr("istio.io/rev", "DoesNotExist")]},
             "objectSelector": {"matchExpressions": [_expr("sidecar.istio.io/inject", "In", "true"),
                                                     _expr("istio.io/rev", "DoesNotExist")]}},
        ]  # fmt: skip
    name = (
        f"istio-revision-tag-{tag}"
        if tag
        else "istio-sidecar-injector" + (f"-{revision}" if revision else "")
    )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"istio.io/rev": revision or "default"}},
        "webhooks": [{**h, "clientConfig": client, "failurePolicy": "Fail"} for h in hooks],
    }


def istiod(revision: str = "", *, ready: bool = True) -> list[RawObject]:
    """istiod's Service and one pod in istio-system for a revision."""
    name = f"istiod-{revision}" if revision else "istiod"
    labels = {"app": "istiod", "istio.io/rev": revision or "default"}
    svc = service(name, "istio-system", selector=labels,
                  ports=[{"name": "https-webhook", "port": 443, "targetPort": 15017}])  # fmt: skip
    pod = kubelet.pod(name=f"{name}-5d8f7c9b6-a1b2c", namespace="istio-system", labels=labels,
                      proxy=None, ready=ready)  # fmt: skip
    return [svc, pod]
