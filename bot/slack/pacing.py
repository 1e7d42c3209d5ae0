"""Pacing alert messages: about one message per second per channel, and Slack's Retry-After.

Slack allows chat.postMessage about once per second per channel (bursts tolerated) and answers
429 with Retry-After beyond that. A storm is one message per cause already; the pacer spaces
what remains (the alert channel, each rollout thread's channel), and the Web API client of
the alerts waits out a 429 through the same injected `sleep`, so tests move time instead of
sleeping and the bench counts the waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Slack's documented rate for posting: one message per second per channel.
MESSAGE_INTERVAL_S = 1.0


class Pacer:
    """Spaces messages per channel; `sleep` and `monotonic` are injected (tests, benches)."""

    def __init__(
        self,
        *,
        interval_s: float = MESSAGE_INTERVAL_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self.sleep = sleep
        self._monotonic = monotonic
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total time spent waiting (a figure for benches)

    def wait(self, channel: str) -> None:
        """Return when a message may go to `channel` (and count this one)."""
        with self._lock:
            now = self._monotonic()
            due = self._next.get(channel, now)
            self._next[channel] = max(due, now) + self.interval_s
        if due > now:
            self.pause(due - now)

    def pause(self, seconds: float) -> None:
        """Wait `seconds` (Retry-After, or the pace)."""
        self.waited_s += seconds
        self.sleep(seconds)


class PacedRetryHandler(RateLimitErrorRetryHandler):
    """Waits out Slack's 429 for the Retry-After it names, through the pacer's sleep."""

    def __init__(self, pacer: Pacer, *, max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._pacer = pacer

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Sleep for Retry-After (1 s when Slack names none), then retry."""
        if response is None:
            raise error or RuntimeError("rate-limit retry without a response")
        state.next_attempt_requested = True
        self._pacer.pause(float(_retry_after(response.headers)))
        state.increment_current_attempt()


def _retry_after(headers: dict[str, Any]) -> int:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(int(raw), 0)
            except (TypeError, ValueError):
                return 1
    return 1
