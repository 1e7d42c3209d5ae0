"""Where each kind meshgate reads lives in the Kubernetes API: group, plural, versions."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.mesh.snapshot import Kind


@dataclass(frozen=True)
class KindSource:
    """Where a kind lives in the API: group, plural, and versions in order of preference."""

    kind: Kind
    group: str
    plural: str
    versions: tuple[str, ...] = ("v1",)

    def path(self, version: str) -> str:
        """The cluster-wide collection path in `version`."""
        prefix = f"/apis/{self.group}/{version}" if self.group else f"/api/{version}"
        return f"{prefix}/{self.plural}"

    def api_version(self, version: str) -> str:
        """`v1` or `group/version`."""
        return f"{self.group}/{version}" if self.group else version


_ISTIO = ("v1", "v1beta1")
SOURCES: tuple[KindSource, ...] = (
    KindSource(Kind.NAMESPACE, "", "namespaces"),
    KindSource(Kind.SERVICE, "", "services"),
    KindSource(Kind.POD, "", "pods"),
    KindSource(Kind.DEPLOYMENT, "apps", "deployments"),
    KindSource(Kind.STATEFULSET, "apps", "statefulsets"),
    KindSource(Kind.PEER_AUTHENTICATION, "security.istio.io", "peerauthentications", _ISTIO),
    KindSource(Kind.AUTHORIZATION_POLICY, "security.istio.io", "authorizationpolicies", _ISTIO),
    KindSource(Kind.DESTINATION_RULE, "networking.istio.io", "destinationrules", _ISTIO),
    KindSource(Kind.VIRTUAL_SERVICE, "networking.istio.io", "virtualservices", _ISTIO),
    KindSource(Kind.GATEWAY, "networking.istio.io", "gateways", _ISTIO),
    KindSource(Kind.SERVICE_ENTRY, "networking.istio.io", "serviceentries", _ISTIO),
    KindSource(Kind.SIDECAR, "networking.istio.io", "sidecars", _ISTIO),
    KindSource(Kind.CERTIFICATE, "cert-manager.io", "certificates"),
    KindSource(Kind.SECRET, "", "secrets"),
    KindSource(Kind.CONFIG_MAP, "", "configmaps"),
    KindSource(
        Kind.MUTATING_WEBHOOK, "admissionregistration.k8s.io", "mutatingwebhookconfigurations"
    ),
)
# Always served by a conformant API server: no discovery request needed for them.
BUILTIN_GROUPS = frozenset({"", "apps", "admissionregistration.k8s.io"})
