"""A watchdog for the embedded Redis: notices a dead redis-server and restarts it.

A thread PINGs the server every `interval` seconds, whether or not commands come (an idle
`serve` recovers too). On a dead server it calls EmbeddedRedis.revive, which restarts it on
the same folder under the shared lock; a failed restart is tried again, backing off to
MAX_BACKOFF_S, until it works or the process is stopped. The store needs nothing else:
redis-py opens a new connection to the same socket on the next command.

`health` is what /healthz reports (bot.slack.wsgi, through `live`):

    up           the server answers
    hung         alive, not answering (stopped or stuck): no second server is started beside
                 it (two on one AOF would corrupt it); live (readiness takes the replica out).
                 Hung for longer than `hung_limit` (HUNG_LIMIT_S), it is killed and restarted
    recovering   it died and is being restarted: live, the process will do its work again
    failed       it died and could not be restarted: not live, so the kubelet restarts the pod
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from bot.state.embedded import EmbeddedRedis, EmbeddedRedisError, Liveness

log = logging.getLogger(__name__)

# A PING every second costs nothing on a local socket and bounds the time to notice a death.
DEFAULT_INTERVAL_S = 1.0
# A restart that fails (a corrupt AOF, a full disk) is retried at most this far apart, so a
# repaired folder is picked up within it and a broken one does not spawn a server a second.
MAX_BACKOFF_S = 10.0
# A server that has not answered for this long is stuck for good, not busy: a local Redis with
# a small keyspace answers in microseconds, and an fsync stall lasts seconds, not half a minute.
HUNG_LIMIT_S = 30.0


class Health(StrEnum):
    """The embedded Redis as the watchdog last saw it."""

    UP = "up"  # answers PING
    HUNG = "hung"  # alive, does not answer; left alone
    RECOVERING = "recovering"  # died; a restart is under way
    FAILED = "failed"  # died, and the last restart failed


class Supervisor:
    """Watches one EmbeddedRedis from a daemon thread; `start`, `stop`, `health`."""

    def __init__(
        self,
        embedded: EmbeddedRedis,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        hung_limit: float = HUNG_LIMIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._embedded = embedded
        self._interval = interval
        self._hung_limit = hung_limit
        self._clock = clock
        self._hung_since: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self.health = Health.UP
        self.problem = ""  # why the last restart failed (for logs; not shown over HTTP)
        self.restarts = 0  # servers this process started again after a death

    def live(self) -> bool:
        """False only when the server is dead and could not be restarted (a liveness check)."""
        return self.health is not Health.FAILED

    def start(self) -> None:
        """Start watching in a daemon thread."""
        self._thread = threading.Thread(
            target=self._run, name="meshgate-redis-watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the server is stopped, so it is not restarted then)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def check(self) -> Health:
        """One round: probe the server, restart it if it is dead; the health it leaves."""
        liveness = self._embedded.probe()
        if liveness is not Liveness.HUNG:
            self._hung_since = None
        if liveness is Liveness.ANSWERS:
            self._set(Health.UP)
        elif liveness is Liveness.HUNG:
            self._hung()
        else:
            self._restart()
        return self.health

    def _hung(self) -> None:
        now = self._clock()
        if self._hung_since is None:
            self._hung_since = now
        if now - self._hung_since < self._hung_limit:
            self._set(Health.HUNG)
            return
        if self._embedded.kill_hung():
            silent = now - self._hung_since
            log.error("the embedded redis-server did not answer for %.0f s; killed it", silent)
            self._hung_since = None
            self._restart()
        else:
            self._set(Health.HUNG)

    def _restart(self) -> None:
        if self.health is not Health.FAILED:
            self._set(Health.RECOVERING)
        try:
            started = self._embedded.revive()
        except EmbeddedRedisError as e:
            self._failures += 1
            self.problem = str(e)
            if self.health is not Health.FAILED:
                log.error("the embedded redis-server died and could not be restarted: %s", e)
            self._set(Health.FAILED)
            return
        self._failures = 0
        self.problem = ""
        if started:
            self.restarts += 1
            log.warning("the embedded redis-server died; restarted on %s", self._embedded.url)
        self._set(Health.UP)

    def _set(self, health: Health) -> None:
        if health is not self.health and health in (Health.HUNG, Health.RECOVERING):
            log.warning("the embedded redis-server is %s", health.value)
        self.health = health

    def _run(self) -> None:
        while not self._stopping.wait(self._wait()):
            try:
                self.check()
            except Exception:  # the watchdog must outlive any surprise; say what it was
                log.exception("the embedded Redis watchdog failed a round")

    def _wait(self) -> float:
        if self._failures == 0:
            return self._interval
        backoff: float = self._interval * 2.0 ** min(self._failures, 16)
        return min(backoff, MAX_BACKOFF_S)
