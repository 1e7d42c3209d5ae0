"""The hand-off between Slack's ack and the work: a small pool of worker threads.

A listener verifies (Bolt does, before it runs), acks, and submits the work here; it never waits
for Redis, the cluster or the Web API, so Slack always gets its answer within 3 s. A few threads
bound how much work competes with the acks for the interpreter. A separate one-thread lane
carries replies that need nothing but the request (help, usage errors), so they never queue
behind work stuck on a hung Redis or API server. `close` drains what was accepted (SIGTERM in
`serve`), and `wait_idle` lets tests wait for the work instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from workflows.errors import PortError

log = logging.getLogger(__name__)

# Work is mostly waiting on Redis, the API server and Slack; two threads keep a burst moving
# without letting twenty CPU-bound renders crowd out the acks (bench/slack_ack_latency.py).
DEFAULT_THREADS = 2
# Help and usage errors: one thread, so they only ever wait on Slack, never on Redis.
QUICK_THREADS = 1


class Worker:
    """Runs submitted jobs on a few threads; counts what is in flight."""

    def __init__(self, *, threads: int = DEFAULT_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="meshgate-work")
        self._quick = ThreadPoolExecutor(
            max_workers=QUICK_THREADS, thread_name_prefix="meshgate-quick"
        )
        self._pending = 0
        self.completed = 0  # jobs finished, failed ones included (a figure for benches)
        self._idle = threading.Condition()

    def submit(self, job: Callable[[], None], *, what: str, quick: bool = False) -> None:
        """Run `job` soon; its failure is logged (with `what`), never raised to the listener.

        A port's error (a dependency that failed) is one line; anything else is a bug and keeps
        its traceback. `quick`: a job that reads no state and waits on nothing but Slack.
        """
        with self._idle:
            self._pending += 1

        def run() -> None:
            try:
                job()
            except PortError as e:  # Redis, the cluster or Slack went away mid-job: an outage
                log.warning("background work could not finish: %s: %s", what, e)
            except Exception:
                log.exception("background work failed: %s", what)
            finally:
                with self._idle:
                    self._pending -= 1
                    self.completed += 1
                    self._idle.notify_all()

        (self._quick if quick else self._pool).submit(run)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is queued or running; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        """Finish the jobs already accepted, then stop the threads."""
        self._pool.shutdown(wait=True)
        self._quick.shutdown(wait=True)
