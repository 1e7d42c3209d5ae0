"""A read-only snapshot of the cluster objects meshgate reasons about.

Readers in `bot/` (live through the Kubernetes API, or offline from manifests) fill a
ClusterSnapshot with the raw API JSON of each kind, one LIST per kind, and say which kinds
could not be read and which the cluster does not serve. Everything downstream (posture, checks,
audit) reads only this object, so a verdict never depends on how the objects were fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from workflows.mesh import meshconfig
from workflows.naming import ServiceRef

RawObject = dict[str, Any]
"""One object as the Kubernetes API returns it (apiVersion, kind, metadata, spec, status)."""


class Kind(StrEnum):
    """The kinds a snapshot holds; the value is the Kubernetes `kind`."""

    NAMESPACE = "Namespace"
    SERVICE = "Service"
    POD = "Pod"
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    PEER_AUTHENTICATION = "PeerAuthentication"
    AUTHORIZATION_POLICY = "AuthorizationPolicy"
    DESTINATION_RULE = "DestinationRule"
    VIRTUAL_SERVICE = "VirtualService"
    GATEWAY = "Gateway"
    SERVICE_ENTRY = "ServiceEntry"
    SIDECAR = "Sidecar"
    CERTIFICATE = "Certificate"
    SECRET = "Secret"  # noqa: S105 - names and types only: readers drop `data` and `stringData`
    CONFIG_MAP = "ConfigMap"  # only the mesh config (`istio` in istiod's namespace)
    MUTATING_WEBHOOK = "MutatingWebhookConfiguration"  # Istio's sidecar injector webhooks


@dataclass(frozen=True)
class ClusterSnapshot:
    """Objects by kind, plus what could not be read.

    `errors` maps a kind to why it could not be read (403, 5xx, timeout): every verdict that
    depends on that kind is `unknown`. `unserved` lists kinds the cluster does not serve (no
    CRD installed), which is a fact, not an error: no cert-manager means no Certificates.
    `istio_namespace` is where istiod and its mesh config live; `root_namespace` is the mesh
    config's `rootNamespace` (istiod's namespace when it names none).
    """

    objects: Mapping[Kind, Sequence[RawObject]] = field(default_factory=dict)
    errors: Mapping[Kind, str] = field(default_factory=dict)
    unserved: frozenset[Kind] = frozenset()
    istio_namespace: str = meshconfig.DEFAULT_ISTIO_NAMESPACE
    source: str = ""
    secret_namespaces: frozenset[str] | None = None  # None: Secrets listed in every namespace

    @cached_property
    def mesh_config(self) -> meshconfig.MeshConfig:
        """The mesh config (Istio's defaults when there is no ConfigMap `istio`)."""
        found = self.find(Kind.CONFIG_MAP, namespace=self.istio_namespace, name="istio")
        return meshconfig.parse(found, istio_namespace=self.istio_namespace)

    @property
    def root_namespace(self) -> str:
        """The mesh's root namespace: mesh-wide policies live there."""
        return self.mesh_config.root_namespace

    def of(self, kind: Kind) -> Sequence[RawObject]:
        """All objects of one kind (empty when none, unserved or unreadable)."""
        return self.objects.get(kind, ())

    def readable(self, kind: Kind) -> bool:
        """True when the kind was read (or is not served, which means there are none).

        A mesh config that does not parse makes ConfigMap unreadable: its root namespace and
        outbound policy are unknown.
        """
        return not self.error(kind)

    def secrets_readable_in(self, namespace: str) -> bool:
        """True when the Secrets of `namespace` were listed (so an absent one is absent).

        meshgate lists Secrets only in the namespaces `secret_namespaces` names (the ingress
        gateways'); a Secret elsewhere is neither present nor absent: it was not looked for.
        """
        return self.readable(Kind.SECRET) and (
            self.secret_namespaces is None or namespace in self.secret_namespaces
        )

    def error(self, kind: Kind) -> str:
        """Why the kind could not be read ("" when it was)."""
        if kind in self.errors:
            return self.errors[kind]
        if kind is Kind.CONFIG_MAP:
            return self.mesh_config.problem
        return ""

    def find(self, kind: Kind, *, namespace: str, name: str) -> RawObject | None:
        """The object of `kind` named `namespace/name`, or None."""
        for obj in self.of(kind):
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and meta.get("namespace", "") == namespace:
                return obj
        return None

    def service(self, ref: ServiceRef) -> RawObject | None:
        """The Service object behind `ref`, or None when it is not in the snapshot."""
        return self.find(Kind.SERVICE, namespace=ref.namespace, name=ref.name)
