"""What Prometheus said about one service over a window: the Metrics JSON of DESIGN.md.

Pure models. A value with no data is None, never 0; a value Prometheus could not give (down,
slow, an error answer) is None too, with the reason under `unavailable` keyed by field name,
so a reader can tell "nothing was measured" (`no_data`) from "could not ask" (`unavailable`).
Neither ever passes a gate (workflows.gates.metric_gates).

`MetricsHistory` is the same service over time (range queries), for charts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.naming import ServiceRef

SCHEMA = "meshgate.metrics/v1"


class Reading(StrEnum):
    """Whether a field of a snapshot holds a value."""

    VALUE = "value"  # Prometheus answered with a number
    NO_DATA = "no_data"  # Prometheus answered, with no series or NaN
    UNAVAILABLE = "unavailable"  # Prometheus could not be asked, or answered an error


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Caller(_Model):
    """A workload sending requests to the service (plaintext callers)."""

    namespace: str
    workload: str
    rate: float


class PrincipalCaller(_Model):
    """Requests per second from one mTLS identity (`source_principal`, a SPIFFE URI)."""

    principal: str
    rate: float


class Latency(_Model):
    """Server-side latency quantiles in milliseconds (histogram_quantile over the window)."""

    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class Target(_Model):
    """A service to read metrics for, with its `app` label.

    Server-side series are keyed by destination service; pod-level series (dry-run shadow
    denials) and source-side series (PassthroughCluster/BlackHoleCluster) carry no service, only
    the pod's `app` label (Istio requires it for telemetry), so the target names it. Default:
    the service's name, which is the Bookinfo and Istio-samples convention.
    """

    service: ServiceRef
    app: str = ""

    @property
    def app_label(self) -> str:
        """The `app` label of the service's pods."""
        return self.app or self.service.name


class MetricsSnapshot(_Model):
    """One service's metrics at `at` over `window` (DESIGN.md, "Metrics JSON")."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_: str = Field(default=SCHEMA, alias="schema")
    service: str
    at: datetime
    window: str
    request_rate: float | None = None
    success_rate: float | None = None
    latency_ms: Latency = Latency()
    mtls_share: float | None = None
    forbidden_rate: float | None = None
    plaintext_callers: tuple[Caller, ...] | None = None
    callers: tuple[PrincipalCaller, ...] | None = None
    passthrough_rate: float | None = None
    blackhole_rate: float | None = None
    shadow_denials: float | None = None
    unavailable: dict[str, str] = Field(default_factory=dict)

    def reading(self, field: str) -> Reading:
        """VALUE, NO_DATA or UNAVAILABLE for a field (`latency_ms.p99` for a quantile)."""
        if field in self.unavailable:
            return Reading.UNAVAILABLE
        return Reading.NO_DATA if self.value(field) is None else Reading.VALUE

    def value(self, field: str) -> Any:
        """The field's value; `latency_ms.p99` reads a quantile."""
        head, _, tail = field.partition(".")
        found = getattr(self, head)
        return getattr(found, tail) if tail else found

    def to_json(self) -> dict[str, Any]:
        """The Metrics JSON: nulls for no data; `unavailable` only when something was."""
        data = self.model_dump(mode="json", by_alias=True)
        data["at"] = self.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not self.unavailable:
            del data["unavailable"]
        return data


class MetricsHistory(_Model):
    """A service's key metrics over time (one point per step), for charts.

    Each series has one entry per timestamp in `times`; None where Prometheus had no value.
    """

    service: str
    times: tuple[datetime, ...]
    request_rate: tuple[float | None, ...]
    success_rate: tuple[float | None, ...]
    latency_p99_ms: tuple[float | None, ...]
    mtls_share: tuple[float | None, ...]
    unavailable: dict[str, str] = Field(default_factory=dict)


CustomAnswer = float | None | str
"""A custom query's value: a number, None (no data), or why it could not be answered."""
