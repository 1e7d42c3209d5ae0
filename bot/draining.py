"""Stopping the background scheduler: no new runs, the running ones finish, within a bound.

APScheduler's `shutdown(wait=False)` returns while a job still runs: a sweep cut off by the
process exiting, or one that goes on calling Slack and Redis after the store was closed under
it. `shutdown(wait=True)` waits without a bound. `RunningJobs` counts the jobs in flight from
the scheduler's own events, and `stop` pauses the scheduler (nothing new starts), waits for
them up to DRAIN_SECONDS (as `serve` drains its requests), then shuts it down.
"""

from __future__ import annotations

import logging
import threading

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0


class RunningJobs:
    """How many of a scheduler's jobs are running now (add before the scheduler starts)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._running = 0
        self._changed = threading.Condition()
        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _submitted(self, _event: JobEvent) -> None:
        with self._changed:
            self._running += 1

    def _finished(self, _event: JobEvent) -> None:
        with self._changed:
            self._running -= 1  # may arrive before its submission event: below 0 for a moment
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job runs; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running <= 0, timeout=timeout)


def stop(scheduler: BaseScheduler, running: RunningJobs, *, drain: float = DRAIN_SECONDS) -> None:
    """Start nothing more, let the running jobs finish (at most `drain` s), shut it down."""
    scheduler.pause()
    if not running.wait_idle(drain):
        log.warning("a scheduled job still runs after %.0f s; stopping without it", drain)
    scheduler.shutdown(wait=False)
