"""The audit report as data: pydantic models of DESIGN.md's "Audit JSON" (meshgate.audit/v1).

`workflows.audit` builds a report from a snapshot, `workflows.regressions` compares two, the
CLI prints one as JSON or as a table, and a report written earlier comes back as a baseline
through `parse`, which says what is wrong with a file that is not a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflows.errors import WorkflowError
from workflows.mesh.authz import DefaultDecision
from workflows.mesh.findings import Severity
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.sidecars import SidecarState

SCHEMA = "meshgate.audit/v1"


class BaselineInvalid(WorkflowError, ValueError):
    """A baseline is not a meshgate.audit/v1 report; the message says where and why."""


class RegressionKind(StrEnum):
    """What got worse since the baseline (DESIGN.md, Audit JSON `regressions[].kind`)."""

    MTLS_WEAKENED = "mtls_weakened"  # effective mTLS is weaker on the service or one port
    SIDECAR_MISSING = "sidecar_missing"  # fewer pods run a ready istio-proxy
    DEFAULT_DENY_REMOVED = "default_deny_removed"  # authz default went from deny to allow
    ALLOW_BROADENED = "allow_broadened"  # an allow-all rule or a wildcard principal appeared
    POLICY_UNENFORCED = "policy_unenforced"  # an enforced policy became dry-run or AUDIT
    PLAINTEXT_TRAFFIC = "plaintext_traffic"  # plaintext requests seen (from metrics, not here)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class FindingOut(_Model):
    """One finding as reported."""

    code: str
    severity: Severity
    message: str
    objects: list[str] = Field(default_factory=list)
    fix: str = ""


class MtlsOut(_Model):
    """Effective mTLS of a service: the weakest mode, and the mode per container port."""

    mode: MtlsMode
    ports: dict[str, MtlsMode] = Field(default_factory=dict)


class AuthzOut(_Model):
    """Authorization of a service."""

    default: DefaultDecision
    allow_all: bool = False
    policies: list[str] = Field(default_factory=list)


class ServiceAudit(_Model):
    """The audit of one service."""

    service: str
    sidecar: SidecarState
    mtls: MtlsOut
    authz: AuthzOut
    findings: list[FindingOut] = Field(default_factory=list)


class Regression(_Model):
    """Something that got worse since the baseline, and the object whose change explains it.

    `port` is set only when one container port weakened while the service's mode did not.
    """

    kind: RegressionKind
    service: str
    before: str
    after: str
    cause: str
    port: int | None = None


class AuditReport(_Model):
    """A whole audit: every service audited, and the regressions against a baseline."""

    schema_: Literal["meshgate.audit/v1"] = Field(default="meshgate.audit/v1", alias="schema")
    services: list[ServiceAudit] = Field(default_factory=list)
    regressions: list[Regression] = Field(default_factory=list)
    unserved: list[str] = Field(default_factory=list)  # kinds the cluster does not serve

    def to_data(self) -> dict[str, Any]:
        """The report as JSON-ready data, keys as DESIGN.md spells them."""
        data = self.model_dump(mode="json", by_alias=True)
        for regression in data["regressions"]:
            if regression.get("port") is None:
                regression.pop("port", None)
        if not data["unserved"]:
            data.pop("unserved")
        return data

    def service(self, name: str) -> ServiceAudit | None:
        """The audit of `ns/name`, or None."""
        return next((s for s in self.services if s.service == name), None)


def parse(data: object, *, source: str = "baseline") -> AuditReport:
    """A report from data read back (e.g. a baseline file); raise BaselineInvalid if it is not."""
    if not isinstance(data, Mapping):
        raise BaselineInvalid(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise BaselineInvalid(
            f"{source}: schema is {data.get('schema')!r}, expected {SCHEMA!r} "
            "(write one with `meshgate audit --format json`)"
        )
    try:
        return AuditReport.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:5]
        )
        raise BaselineInvalid(f"{source}: not a meshgate audit report: {problems}") from e
