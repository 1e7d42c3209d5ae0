"""The MetricsSource port over a Prometheus server: Istio snapshots, custom values, history.

Asks the queries of workflows.gates.istio_queries through bot.metrics.prometheus and hands the
answers back to the domain to assemble. Prometheus trouble never raises from here: a failed
query becomes the `unavailable` reason of the fields it answers. When Prometheus cannot be
reached at all (connection refused, timeout) the remaining queries of the batch are not sent
(each would wait for the same timeout) and carry the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.metrics.prometheus import (
    PrometheusClient,
    PrometheusConfig,
    PrometheusError,
    PrometheusUnavailable,
)
from workflows.gates import istio_history, istio_queries
from workflows.gates.istio_history import Series
from workflows.gates.istio_queries import Query, QueryAnswer
from workflows.gates.metrics_snapshot import CustomAnswer, MetricsHistory, MetricsSnapshot, Target
from workflows.naming import ServiceRef
from workflows.playbook import format_duration


class PrometheusMetrics:
    """Implements workflows.ports.MetricsSource."""

    def __init__(self, client: PrometheusClient) -> None:
        self.client = client
        self.queries_sent = 0  # for the scale bench and for tests that count requests

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 10.0) -> PrometheusMetrics:
        """A source for the server at `url` (credentials in the URL become basic auth)."""
        return cls(PrometheusClient(PrometheusConfig(url=url, timeout=timeout)))

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def snapshots(
        self, *, targets: Sequence[Target], at: datetime, window: timedelta
    ) -> dict[ServiceRef, MetricsSnapshot]:
        """One snapshot per target; `len(Query)` queries whatever the number of targets."""
        if not targets:
            return {}
        span = format_duration(window)
        answers: dict[Query, QueryAnswer] = {}
        down = ""
        for query, promql in istio_queries.queries(targets=targets, window=span).items():
            if down:
                answers[query] = down
                continue
            try:
                self.queries_sent += 1
                answers[query] = self.client.instant(promql, at=at)
            except PrometheusUnavailable as e:
                answers[query] = down = str(e)
            except PrometheusError as e:
                answers[query] = str(e)
        return istio_queries.assemble(targets=targets, at=at, window=span, answers=answers)

    def custom_values(self, *, queries: Mapping[str, str], at: datetime) -> dict[str, CustomAnswer]:
        """Each query's single value; more than one series is an error naming the count."""
        values: dict[str, CustomAnswer] = {}
        down = ""
        for key, promql in queries.items():
            if down:
                values[key] = down
                continue
            try:
                self.queries_sent += 1
                samples = self.client.instant(promql, at=at)
            except PrometheusUnavailable as e:
                values[key] = down = str(e)
                continue
            except PrometheusError as e:
                values[key] = str(e)
                continue
            if len(samples) > 1:
                values[key] = (
                    f"the query returned {len(samples)} series, not one value; "
                    "aggregate it (e.g. sum(...))"
                )
            elif not samples:
                values[key] = None
            else:
                values[key] = istio_queries.finite(samples[0].value)
        return values

    def history(
        self, *, target: Target, start: datetime, end: datetime, step: timedelta, window: timedelta
    ) -> MetricsHistory:
        """Four range queries (request rate, success rate, p99, mTLS share) for one target."""
        span = format_duration(window)
        promql = istio_queries.queries(targets=[target], window=span)
        answers: dict[Query, Sequence[Series] | str] = {}
        down = ""
        for query in istio_history.HISTORY:
            if down:
                answers[query] = down
                continue
            try:
                self.queries_sent += 1
                answers[query] = self.client.range(promql[query], start=start, end=end, step=step)
            except PrometheusUnavailable as e:
                answers[query] = down = str(e)
            except PrometheusError as e:
                answers[query] = str(e)
        times = []
        moment = start
        while moment <= end:
            times.append(moment)
            moment += step
        return istio_history.assemble_history(target=target, times=times, answers=answers)
