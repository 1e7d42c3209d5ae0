"""What a handler is given: the ports it may use, the playbook, the policy and the clock.

Built once by the runtime (`bot/`) for Slack, the console or a test; handlers never reach for
globals, the environment or the clock themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from workflows.gates import posture_checks
from workflows.gates.checks import CheckFunction
from workflows.playbook import Playbook
from workflows.ports import ClusterReader, ClusterWriter, Directory, MetricsSource, StateStore
from workflows.rollout.state import Approvers
from workflows.watch.ports import WatchStore


@dataclass(frozen=True)
class Context:
    """Ports and policy for one deployment of meshgate."""

    store: StateStore
    playbook: Playbook
    clock: Callable[[], datetime]
    cluster: ClusterReader | None = None
    writer: ClusterWriter | None = None
    directory: Directory | None = None
    metrics: MetricsSource | None = None
    compare_after: timedelta = timedelta(minutes=15)  # before/after numbers of a change
    default_approvers: Approvers = Approvers()
    checks: Mapping[str, CheckFunction] = field(default_factory=lambda: posture_checks.CHECKS)
    history_limit: int = 50
    watch: WatchStore | None = None  # baselines and alerts (None: no regression watch)
