"""`meshgate serve` over HTTP until SIGTERM (or Ctrl-C), then a clean stop.

On the signal: stop accepting (the listening socket is closed, so new connections are refused
rather than left in the backlog), let the requests already received finish and their answers
reach the client (up to DRAIN_SECONDS), then stop waitress's threads and return. The caller's
`with wiring.open_bot(...)` then drains the worker (work already acked runs to the end), stops
the scheduler, closes the store and stops the embedded redis-server, and `serve` exits 0.
In Socket Mode the HTTP server here carries only /healthz, /readyz and /metrics, and the
WebSocket is closed after it stops (bot.cli.socket_mode).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import waitress
from waitress import wasyncore

from bot.slack.wsgi import WAITRESS_LIMITS

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
_TICK_SECONDS = 0.05


def serve(app: Any, *, host: str, port: int, threads: int = 8) -> None:
    """Serve `app` until SIGTERM or SIGINT; return once the requests in flight are answered."""
    server: Any = waitress.create_server(
        app, host=host, port=port, threads=threads, **WAITRESS_LIMITS
    )
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:  # no logging here: its locks
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            wasyncore.loop(timeout=1.0, map=server._map, count=1)  # noqa: SLF001
        log.warning("meshgate: %s received, stopping", signal.Signals(received[0]).name)
        wasyncore.dispatcher.close(server)  # the listening socket only: accept nothing more
        deadline = time.monotonic() + DRAIN_SECONDS
        while _busy(server) and time.monotonic() < deadline:
            wasyncore.loop(timeout=_TICK_SECONDS, map=server._map, count=1)  # noqa: SLF001
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # noqa: SLF001
        server.trigger.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _busy(server: Any) -> bool:
    """A request received and not yet answered, or an answer not yet sent."""
    channels = [c for c in server._map.values() if c is not server.trigger]  # noqa: SLF001
    return any(getattr(c, "requests", None) or getattr(c, "total_outbufs_len", 0) for c in channels)
