"""The mesh config meshgate needs: the root namespace and the outbound traffic policy.

Istio reads its MeshConfig from the `mesh` key of ConfigMap `istio` in istiod's namespace
(istio/istio pkg/config/mesh/mesh.go: DefaultMeshConfig, ApplyMeshConfig). Two fields change
verdicts here:

- `rootNamespace`: where mesh-wide PeerAuthentications, AuthorizationPolicies and Sidecars
  live. Default: istiod's namespace (`istio-system`; DefaultMeshConfig sets
  constants.IstioSystemNamespace).
- `outboundTrafficPolicy.mode`: `ALLOW_ANY` (the default) lets sidecars reach any host, so
  ServiceEntries are an inventory; `REGISTRY_ONLY` makes them an allow-list. A Sidecar that
  sets its own `outboundTrafficPolicy` overrides it for the workloads it selects
  (pilot/pkg/model/sidecar.go, convertToSidecarScope).

Parsing takes raw dicts only, so `snapshot` can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

DEFAULT_ISTIO_NAMESPACE = "istio-system"
MESH_CONFIG_KEY = "mesh"


class Outbound(StrEnum):
    """outboundTrafficPolicy.mode values (istio/api mesh/v1alpha1 and networking Sidecar)."""

    ALLOW_ANY = "ALLOW_ANY"  # any host is reachable; ServiceEntries only name some
    REGISTRY_ONLY = "REGISTRY_ONLY"  # only hosts in the registry (Services, ServiceEntries)


@dataclass(frozen=True)
class MeshConfig:
    """The fields of MeshConfig meshgate reads; `problem` says why the config could not be read."""

    root_namespace: str
    outbound: Outbound = Outbound.ALLOW_ANY
    problem: str = ""
    source: str = "Istio defaults (no mesh config)"


def parse(config_map: Mapping[str, Any] | None, *, istio_namespace: str) -> MeshConfig:
    """The mesh config in ConfigMap `istio` (None: Istio's defaults)."""
    if config_map is None:
        return MeshConfig(root_namespace=istio_namespace)
    meta = config_map.get("metadata") or {}
    source = f"ConfigMap {meta.get('namespace', istio_namespace)}/{meta.get('name', 'istio')}"
    text = (config_map.get("data") or {}).get(MESH_CONFIG_KEY) or ""
    try:
        mesh = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as e:
        return MeshConfig(
            root_namespace=istio_namespace,
            problem=f"{source}: `mesh` is not YAML ({str(e).splitlines()[0]})",
            source=source,
        )
    if not isinstance(mesh, Mapping):
        return MeshConfig(
            root_namespace=istio_namespace,
            problem=f"{source}: `mesh` is not a mapping",
            source=source,
        )
    root = str(mesh.get("rootNamespace") or istio_namespace)
    policy = mesh.get("outboundTrafficPolicy")
    mode = str(policy.get("mode") or "") if isinstance(policy, Mapping) else ""
    outbound = Outbound.REGISTRY_ONLY if mode == Outbound.REGISTRY_ONLY else Outbound.ALLOW_ANY
    return MeshConfig(root_namespace=root, outbound=outbound, source=source)
