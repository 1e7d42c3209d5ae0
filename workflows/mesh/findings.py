"""Findings: what posture evaluation reports about a service, with stable codes.

A finding has a code that never changes meaning (scripts and alert rules key on it), a
severity, a message naming the objects involved, the objects themselves (`Kind ns/name`) and
a one-line fix. Codes are grouped by concern:

    MG0xx  could not check (read errors, missing service)
    MG1xx  mutual TLS (PeerAuthentication, DestinationRule TLS)
    MG2xx  authorization (AuthorizationPolicy)
    MG3xx  sidecars and workloads (injection, pods, ports, UID 1337, hostNetwork)
    MG4xx  routing and release (VirtualService, DestinationRule subsets, ServiceEntry, certs)

`CATALOGUE` is the single list of codes; docs/findings.md describes each one and a unit test
keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters."""

    ERROR = "error"  # traffic breaks, security is not what it claims to be, or could not check
    WARNING = "warning"  # a gap or a mistake that will bite during the rollout
    INFO = "info"  # a fact worth knowing, expected at some phases


@dataclass(frozen=True)
class Code:
    """One entry of the catalogue: the code, its severity and what it means."""

    code: str
    severity: Severity
    title: str


@dataclass(frozen=True)
class Finding:
    """One problem or fact about a service, with the objects involved and the fix."""

    code: str
    severity: Severity
    message: str
    objects: tuple[str, ...] = ()
    fix: str = ""


# MG0xx: could not check
READ_ERROR = Code("MG001", Severity.ERROR, "a kind the verdict needs could not be read")
SERVICE_NOT_FOUND = Code("MG002", Severity.ERROR, "the service is not in the cluster")
NO_PODS = Code("MG003", Severity.WARNING, "the service selects no pods")

# MG1xx: mutual TLS
MTLS_DISABLED = Code("MG101", Severity.WARNING, "mTLS is DISABLE on a port")
MTLS_PERMISSIVE = Code("MG102", Severity.INFO, "mTLS is PERMISSIVE: plaintext is accepted")
TLS_CONFLICT = Code("MG103", Severity.ERROR, "a DestinationRule's TLS mode conflicts with STRICT")
PEER_AUTHN_SHADOWED = Code("MG104", Severity.WARNING, "a PeerAuthentication is shadowed")
ROOT_SELECTOR_IGNORED = Code(
    "MG105", Severity.WARNING, "a PeerAuthentication with a selector in the root namespace"
)
MTLS_WITHOUT_SIDECAR = Code("MG106", Severity.WARNING, "mTLS policy on a workload without sidecar")
PORT_LEVEL_IGNORED = Code("MG107", Severity.WARNING, "portLevelMtls without a selector is ignored")

# MG2xx: authorization
WILDCARD_PRINCIPAL = Code("MG201", Severity.WARNING, "an ALLOW rule admits any principal")
ALLOW_ALL = Code("MG202", Severity.WARNING, "an ALLOW rule matches every request")
NO_DEFAULT_DENY = Code("MG203", Severity.WARNING, "no deny-by-default: requests are allowed")
DENY_BYPASSED_BY_PLAINTEXT = Code(
    "MG204", Severity.ERROR, "a DENY/CUSTOM rule on identities is bypassed by plaintext"
)
ALLOW_IDENTITY_WITHOUT_STRICT = Code(
    "MG205", Severity.WARNING, "an ALLOW rule on identities while mTLS is not STRICT"
)
POLICY_DRY_RUN = Code("MG206", Severity.INFO, "an AuthorizationPolicy is in dry-run")
POLICY_AUDIT = Code("MG207", Severity.INFO, "an AUDIT AuthorizationPolicy only logs")
POLICY_SELECTS_NOTHING = Code("MG208", Severity.WARNING, "an AuthorizationPolicy selects no pod")

# MG3xx: sidecars and workloads
SIDECAR_NOT_INJECTED = Code("MG301", Severity.WARNING, "pods lack the sidecar injection enables")
INJECTION_NOT_ENABLED = Code("MG302", Severity.INFO, "sidecar injection is not enabled")
SIDECAR_NOT_READY = Code("MG303", Severity.WARNING, "an istio-proxy container is not ready")
INJECTION_OPTED_OUT = Code("MG304", Severity.INFO, "pods opt out of injection")
PORT_PROTOCOL_UNNAMED = Code("MG305", Severity.WARNING, "a Service port declares no protocol")
UID_1337 = Code("MG306", Severity.ERROR, "a container runs as UID 1337, the proxy's")
HOST_NETWORK = Code("MG307", Severity.ERROR, "a pod uses hostNetwork")
POD_NOT_READY = Code("MG308", Severity.WARNING, "a pod is not running or not ready")
AMBIENT_MODE = Code("MG309", Severity.WARNING, "a workload runs in ambient mode, not modelled")

# MG4xx: routing and release
GATEWAY_MISSING = Code("MG401", Severity.ERROR, "a VirtualService names a Gateway that is absent")
INGRESS_HOST_UNROUTED = Code("MG402", Severity.WARNING, "an ingress host has no bound route")
SUBSET_SELECTS_NOTHING = Code("MG403", Severity.WARNING, "a DestinationRule subset selects no pod")
EXTERNAL_HOST_UNDECLARED = Code("MG404", Severity.WARNING, "an external host has no ServiceEntry")
CERTIFICATE_NOT_READY = Code("MG405", Severity.ERROR, "a Gateway's Certificate is not Ready")
CREDENTIAL_SECRET_MISSING = Code("MG406", Severity.ERROR, "a Gateway's credential Secret is absent")
SUBSET_UNDEFINED = Code("MG407", Severity.ERROR, "a route uses a subset no DestinationRule defines")
EGRESS_ALLOW_ANY = Code("MG408", Severity.WARNING, "outbound traffic is ALLOW_ANY: no allow-list")
GATEWAY_HOST_MISMATCH = Code(
    "MG409", Severity.WARNING, "a VirtualService's hosts are not served by its Gateway"
)
GATEWAY_SELECTS_NOTHING = Code("MG410", Severity.ERROR, "a Gateway's selector matches no pod")
INGRESS_PLAINTEXT = Code("MG411", Severity.INFO, "an ingress host is served without TLS")
CERTIFICATE_HOST_MISMATCH = Code(
    "MG412", Severity.ERROR, "a Gateway's Certificate does not cover the host"
)

CATALOGUE: tuple[Code, ...] = (
    READ_ERROR,
    SERVICE_NOT_FOUND,
    NO_PODS,
    MTLS_DISABLED,
    MTLS_PERMISSIVE,
    TLS_CONFLICT,
    PEER_AUTHN_SHADOWED,
    ROOT_SELECTOR_IGNORED,
    MTLS_WITHOUT_SIDECAR,
    PORT_LEVEL_IGNORED,
    WILDCARD_PRINCIPAL,
    ALLOW_ALL,
    NO_DEFAULT_DENY,
    DENY_BYPASSED_BY_PLAINTEXT,
    ALLOW_IDENTITY_WITHOUT_STRICT,
    POLICY_DRY_RUN,
    POLICY_AUDIT,
    POLICY_SELECTS_NOTHING,
    SIDECAR_NOT_INJECTED,
    INJECTION_NOT_ENABLED,
    SIDECAR_NOT_READY,
    INJECTION_OPTED_OUT,
    PORT_PROTOCOL_UNNAMED,
    UID_1337,
    HOST_NETWORK,
    POD_NOT_READY,
    AMBIENT_MODE,
    GATEWAY_MISSING,
    INGRESS_HOST_UNROUTED,
    SUBSET_SELECTS_NOTHING,
    EXTERNAL_HOST_UNDECLARED,
    CERTIFICATE_NOT_READY,
    CREDENTIAL_SECRET_MISSING,
    SUBSET_UNDEFINED,
    EGRESS_ALLOW_ANY,
    GATEWAY_HOST_MISMATCH,
    GATEWAY_SELECTS_NOTHING,
    INGRESS_PLAINTEXT,
    CERTIFICATE_HOST_MISMATCH,
)


def make(code: Code, *, message: str, objects: tuple[str, ...] = (), fix: str) -> Finding:
    """A finding of a catalogued code (its severity comes from the catalogue)."""
    return Finding(
        code=code.code, severity=code.severity, message=message, objects=objects, fix=fix
    )


def by_code() -> dict[str, Code]:
    """The catalogue keyed by code."""
    return {entry.code: entry for entry in CATALOGUE}


def sort_key(finding: Finding) -> tuple[int, str, str]:
    """Errors first, then warnings, then info; then by code and message."""
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return (rank[finding.severity], finding.code, finding.message)
