"""The regression watch as a process runs it: the sweep job, its schedule, and one-off sweeps.

Built once by the composition root (bot.wiring) for `serve`, `meshgate watch`, the console
and the tests. `tick` is what the scheduler calls on every replica every interval (one replica
claims each aligned tick; commands.watching has the rules); `sweep` runs one sweep now
(`meshgate watch --once`, the console's `:sweep`); `deliver` shows what is pending (after a
button changed an alert).
Every sweep that ran is timed and counted here (bot.observability): its duration, the time of
the last good one (everything read), and one `meshgate_alerts_total` per kind of each alert it
opened.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot import observability
from commands import watching
from commands.context import Context
from commands.watching import SweepResult
from workflows.audit.report import AuditReport
from workflows.ports import StoreUnavailable
from workflows.watch.ports import AlertNotifier, WatchStore
from workflows.watch.sweeping import LineState, Policy

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)


def holder_name() -> str:
    """Who holds the sweep lease: this host and a per-process token."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Watcher:
    """The watch of one process: its store, notifier, policy and interval."""

    ctx: Context
    store: WatchStore
    notifier: AlertNotifier | None
    policy: Policy
    interval: timedelta
    holder: str = field(default_factory=holder_name)
    monotonic: Callable[[], float] = time.monotonic  # times sweeps (the clock may stand still)

    def tick(self) -> SweepResult:
        """The scheduled job: sweep if this replica claims the tick."""
        started = self.monotonic()
        result = watching.sweep_once_per_tick(
            self.ctx,
            watch=self.store,
            notifier=self.notifier,
            policy=self.policy,
            interval=self.interval,
            holder=self.holder,
        )
        if result.problem:
            log.warning("watch sweep could not read everything: %s", result.problem)
        self._record(result, started=started)
        return result

    def sweep(self, *, baseline: AuditReport | None = None) -> SweepResult:
        """One sweep now, whatever the tick (`--once`, `:sweep`)."""
        started = self.monotonic()
        result = watching.sweep(
            self.ctx,
            watch=self.store,
            notifier=self.notifier,
            policy=self.policy,
            baseline=baseline,
        )
        self._record(result, started=started)
        return result

    def _record(self, result: SweepResult, *, started: float) -> None:
        """Time a sweep that ran; count the alerts it opened, one per kind."""
        if not result.ran:
            return  # another replica swept this tick, or the store was away: nothing to time
        observability.sweep(
            name=observability.Sweep.WATCH,
            seconds=self.monotonic() - started,
            good=not result.problem,
            finished_at=self.ctx.clock().timestamp(),
        )
        for line in result.lines:
            if line.state is LineState.NEW:
                for kind in line.alert.kinds:
                    observability.alert(kind=kind)

    def deliver(self) -> int:
        """Show every alert change not shown yet (after an ack or snooze); how many."""
        if self.notifier is None:
            return 0
        try:
            return watching.deliver(watch=self.store, notifier=self.notifier)
        except StoreUnavailable as e:
            log.warning("alert delivery skipped: %s", e)
            return 0

    def schedule(self, scheduler: BaseScheduler) -> None:
        """Run `tick` every interval on `scheduler` (never two at once in this process)."""
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=max(int(self.interval.total_seconds()), 1),
            max_instances=1,
            coalesce=True,
            id="watch",
        )
