"""The port through which the domain reads metrics: snapshots, custom query values, history.

A new module so the command path (workflows/ports.py) can take it over without a conflict;
bot/metrics/prometheus.py implements it over Prometheus's HTTP API.

The contract: no method raises because Prometheus is down, slow or answering errors. Such
trouble comes back as data (`MetricsSnapshot.unavailable`, a `str` answer, or
`MetricsHistory.unavailable`), so every gate that needs the value says `unknown` with the
reason, and nothing in between has to remember to catch anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from workflows.gates.metrics_snapshot import MetricsHistory, MetricsSnapshot, Target
from workflows.naming import ServiceRef

CustomAnswer = float | None | str
"""A custom query's value: a number, None (no data), or why it could not be answered."""


class MetricsSource(Protocol):
    """Reads Istio metrics for services, in a fixed number of queries per batch."""

    def snapshots(
        self, *, targets: Sequence[Target], at: datetime, window: timedelta
    ) -> dict[ServiceRef, MetricsSnapshot]:
        """One snapshot per target at `at` over `window`; trouble is in `unavailable`."""
        ...

    def custom_values(self, *, queries: Mapping[str, str], at: datetime) -> dict[str, CustomAnswer]:
        """The single value of each rendered PromQL query (keyed as given) at `at`."""
        ...

    def history(
        self, *, target: Target, start: datetime, end: datetime, step: timedelta, window: timedelta
    ) -> MetricsHistory:
        """Request rate, success rate, p99 and mTLS share of one service from start to end."""
        ...
