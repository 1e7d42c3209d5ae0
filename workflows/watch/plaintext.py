"""Plaintext traffic reaching a service the watch holds to STRICT mTLS (`plaintext_traffic`).

A policy can read STRICT while requests still arrive in plaintext (a port the sidecar does not
capture, a policy meshgate did not see take effect). The numbers tell: each caller that Istio
reports without `connection_security_policy="mutual_tls"` is one regression, caused by that
caller, so one sender hitting many STRICT services is one alert naming them all. Numbers that
could not be read are a problem of the sweep (it counts towards a blind watch), never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.audit.report import AuditReport, Regression, RegressionKind
from workflows.gates.metrics_snapshot import MetricsSnapshot
from workflows.mesh.mtls import MtlsMode
from workflows.naming import ServiceRef


def held_to_strict(baseline: AuditReport) -> list[ServiceRef]:
    """The baseline's services whose mTLS was STRICT: the ones plaintext must not reach."""
    return [
        ServiceRef.parse(s.service) for s in baseline.services if s.mtls.mode is MtlsMode.STRICT
    ]


def regressions(*, snapshots: Mapping[ServiceRef, MetricsSnapshot]) -> tuple[list[Regression], str]:
    """One regression per plaintext caller of each service; what could not be read ("" if all)."""
    found: list[Regression] = []
    unread: list[str] = []
    for service, numbers in sorted(snapshots.items()):
        why = numbers.unavailable.get("plaintext_callers")
        if why is not None:
            unread.append(f"Prometheus, plaintext callers of {service}: {why}")
            continue
        for caller in numbers.plaintext_callers or ():
            if caller.rate <= 0:
                continue
            found.append(
                Regression(
                    kind=RegressionKind.PLAINTEXT_TRAFFIC,
                    service=str(service),
                    before="no plaintext requests",
                    after=f"{caller.rate:.3g} req/s in plaintext from "
                    f"{caller.namespace}/{caller.workload}",
                    cause=f"plaintext sender {caller.namespace}/{caller.workload}",
                )
            )
    return found, "; ".join(unread)
