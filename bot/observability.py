"""meshgate's own metrics (Prometheus, served at /metrics): what they are and how to record them.

Every metric is defined here, in one registry, so /metrics, the dashboard
(deploy/monitoring/dashboard.json) and the alert rules (deploy/monitoring/rules.yaml) name the
same series. Adapters record through the small functions below; the front ends record
`replied` where they receive a command's reply (console, Slack listeners), bot.watching and
bot.slack.expiry record `sweep` and `alert`, bot.slack.counted_client counts Slack's errors.

    meshgate_commands_total{verb, outcome}          chat commands; outcome `ok` or the error code
    meshgate_approvals_total{decision}              approve / reject decisions that counted
    meshgate_changes_total{result}                  cluster changes: applied, rolled_back, failed
    meshgate_sweep_duration_seconds{sweep}          how long each sweep took (histogram)
    meshgate_last_good_sweep_timestamp_seconds{sweep}  when a sweep last finished with no error
    meshgate_alerts_total{kind}                     regression alerts opened, by regression kind
    meshgate_dependency_errors_total{dependency, kind}  failed calls to slack, kubernetes,
                                                    prometheus, redis, by error class
    meshgate_unreadable_kinds                       kinds the last cluster read could not read
                                                    (more than 0: the watch is partly blind)
    meshgate_build_info{version}                    1, labelled with the running version

Labels are closed sets (verbs, codes, kinds, class names), never a service or a user, so the
number of series stays small.
"""

from __future__ import annotations

from enum import StrEnum
from importlib import metadata

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from commands.replies import Reply

# `_created` series double the count of series and no panel or rule uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)


class Dependency(StrEnum):
    """The services meshgate calls."""

    SLACK = "slack"
    KUBERNETES = "kubernetes"
    PROMETHEUS = "prometheus"
    REDIS = "redis"


class Sweep(StrEnum):
    """The scheduled sweeps whose duration and last good time are kept."""

    WATCH = "watch"  # the regression watch: read the cluster, compare with the baselines
    EXPIRY = "expiry"  # refresh the messages of expired approval requests


class ChangeResult(StrEnum):
    """What became of a change to the cluster."""

    APPLIED = "applied"  # applied with server-side apply
    ROLLED_BACK = "rolled_back"  # restored to what it replaced
    FAILED = "failed"  # the API server refused or did not answer


COMMANDS = Counter(
    "meshgate_commands",
    "Chat commands handled, by verb and outcome (ok, or the reply's error code).",
    ["verb", "outcome"],
    registry=REGISTRY,
)
APPROVALS = Counter(
    "meshgate_approvals",
    "Approval decisions that counted, by decision (approve, reject).",
    ["decision"],
    registry=REGISTRY,
)
CHANGES = Counter(
    "meshgate_changes",
    "Changes to the cluster, by result (applied, rolled_back, failed).",
    ["result"],
    registry=REGISTRY,
)
SWEEP_SECONDS = Histogram(
    "meshgate_sweep_duration_seconds",
    "How long a sweep took (watch: read the cluster and compare; expiry: refresh messages).",
    ["sweep"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
LAST_GOOD_SWEEP = Gauge(
    "meshgate_last_good_sweep_timestamp_seconds",
    "Unix time a sweep last finished with everything read; time() minus this is its age.",
    ["sweep"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "meshgate_alerts",
    "Regression alerts opened, by regression kind (mtls_weakened, sidecar_missing, ...).",
    ["kind"],
    registry=REGISTRY,
)
DEPENDENCY_ERRORS = Counter(
    "meshgate_dependency_errors",
    "Failed calls to Slack, Kubernetes, Prometheus and Redis, by error class.",
    ["dependency", "kind"],
    registry=REGISTRY,
)
UNREADABLE_KINDS = Gauge(
    "meshgate_unreadable_kinds",
    "Kinds the last cluster read could not read (their verdicts are unknown).",
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "meshgate_build_info", "1, labelled with the running version.", ["version"], registry=REGISTRY
)
BUILD_INFO.labels(version=metadata.version("meshgate")).set(1)


# The verbs whose ok reply is a decision that counted (a vote recorded, a request rejected).
_DECISIONS = frozenset({"approve", "reject"})


def replied(reply: Reply) -> None:
    """Count one chat command by the reply a person saw; an ok approve or reject is a decision.

    Front ends call this where they receive a command's reply (console, slash command, buttons,
    modals); `reply.command` is a closed set (dispatch names an unknown verb `unknown`).
    """
    command(verb=reply.command, outcome=str(reply.error.code) if reply.error else "ok")
    if reply.ok and reply.command in _DECISIONS:
        approval(decision=reply.command)


def command(*, verb: str, outcome: str) -> None:
    """Count one chat command; `outcome` is `ok` or the reply's error code."""
    COMMANDS.labels(verb=verb, outcome=outcome).inc()


def approval(*, decision: str) -> None:
    """Count one approval decision that counted (`approve` or `reject`)."""
    APPROVALS.labels(decision=decision).inc()


def change(result: ChangeResult, count: int = 1) -> None:
    """Count changes to the cluster (one per object)."""
    CHANGES.labels(result=result.value).inc(count)


def sweep(*, name: Sweep, seconds: float, good: bool, finished_at: float) -> None:
    """Record one sweep; a good one (nothing unreadable) moves the last-good timestamp."""
    SWEEP_SECONDS.labels(sweep=name.value).observe(seconds)
    if good:
        LAST_GOOD_SWEEP.labels(sweep=name.value).set(finished_at)


def alert(*, kind: str) -> None:
    """Count one regression alert opened."""
    ALERTS.labels(kind=kind).inc()


def dependency_error(dependency: Dependency, error: BaseException | str) -> None:
    """Count one failed call; `error` is the exception (its class names the kind) or a kind."""
    kind = error if isinstance(error, str) else type(error).__name__
    DEPENDENCY_ERRORS.labels(dependency=dependency.value, kind=kind).inc()


def unreadable_kinds(count: int) -> None:
    """How many kinds the last cluster read could not read."""
    UNREADABLE_KINDS.set(count)
