"""Readiness checks for /readyz: can this replica do its work right now?

Each factory returns a callable that answers True or False (bot.slack.wsgi calls them per
probe). The composition root passes the ones that apply:

    redis(store)          the state store answers PING
    slack(client)         the bot token is accepted by Slack (auth.test), cached a minute
    scheduler(sched)      the background scheduler is running

A check that cannot decide says False: not ready is the safe answer for a probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from workflows.ports import StoreUnavailable

Check = Callable[[], bool]
# auth.test is Tier 4 (100+ a minute); two replicas probed every 10 s need 12 a minute uncached:
# a minute's cache keeps it at 2, and a revoked token is noticed within that minute.
SLACK_CACHE_SECONDS = 60.0
SLACK_FAILURE_CACHE_SECONDS = 5.0


class _Pings(Protocol):
    def ping(self) -> None: ...


def redis(store: _Pings) -> Check:
    """True when the store answers."""

    def check() -> bool:
        try:
            store.ping()
        except StoreUnavailable:
            return False
        return True

    return check


def slack(
    client: WebClient,
    *,
    ttl: float = SLACK_CACHE_SECONDS,
    failure_ttl: float = SLACK_FAILURE_CACHE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Check:
    """True when auth.test accepts the bot token; the answer is kept `ttl` seconds."""
    lock = threading.Lock()
    last: dict[str, Any] = {"at": None, "ok": False}

    def check() -> bool:
        with lock:
            now = clock()
            if last["at"] is not None:
                keep = ttl if last["ok"] else failure_ttl
                if now - last["at"] < keep:
                    return bool(last["ok"])
            try:
                ok = bool(client.auth_test().get("ok"))
            except (SlackApiError, SlackClientError, OSError):
                ok = False  # counted by the client (bot.slack.counted_client)
            last.update(at=now, ok=ok)
            return ok

    return check


def scheduler(sched: Any) -> Check:
    """True while an APScheduler scheduler is running."""
    return lambda: bool(getattr(sched, "running", False))
