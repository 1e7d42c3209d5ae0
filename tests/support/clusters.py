"""Small clusters for tests, as the raw objects a Kubernetes API server would hold."""

from __future__ import annotations

from typing import Any


def one_service_cluster() -> list[dict[str, Any]]:
    """Namespace `shop` (injection on), Service `checkout`, one injected, ready pod."""
    labels = {"app": "checkout"}
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "checkout", "namespace": "shop"},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "checkout-1", "namespace": "shop", "labels": labels},
         "spec": {"containers": [{"name": "app", "image": "checkout:1"},
                                 {"name": "istio-proxy", "image": "proxyv2"}]},
         "status": {"phase": "Running", "containerStatuses": [
             {"name": "app", "ready": True}, {"name": "istio-proxy", "ready": True}]}},
    ]  # fmt: skip
