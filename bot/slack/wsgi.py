"""The HTTP surface of `meshgate serve`: Slack at /slack/events, and the operations endpoints.

    POST /slack/events   bot.slack.gate first (size, then signature, then shape: 413, 401 or
                         400 with one log line), then Bolt
    GET  /healthz        200 while the process can do its work or is recovering; 503 naming
                         the failing liveness checks (liveness: restart me)
    GET  /readyz         200 when every readiness check passes, else 503 naming the failing ones
                         (readiness: send me no Slack traffic until then)
    GET  /metrics        Prometheus text format, from bot.observability's registry

Readiness checks are callables passed in by the composition root (Redis reachable, Slack
authenticated, scheduler alive, ...); one that raises counts as failing, and its message is
not shown (it could carry a URL). Liveness checks are the same kind of callable, for what only
a restart of the process mends: the embedded redis-server dead and not restartable
(bot.state.supervision). An outage of an external dependency (a MESHGATE_REDIS_URL server,
Slack) is not a liveness failure: restarting pods does not bring it back, so only /readyz says
it. Liveness checks read state kept by a watchdog; they do no I/O, so a probe never waits.

Every request runs in a correlation scope (bot.logs), with the caller's `X-Request-Id` when it
sends a well-formed one; the id is echoed back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot import logs, observability
from bot.slack import gate

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
ReadinessCheck = Callable[[], bool]
_TEXT = ("Content-Type", "text/plain; charset=utf-8")
# What waitress is told, so it refuses an oversized body from its headers, before reading it
# (bot.slack.gate refuses it again under any other WSGI server). Waitress refuses a body of
# its limit or more, so the limit is one past the largest body meshgate accepts.
WAITRESS_LIMITS = {"max_request_body_size": gate.MAX_BODY_BYTES + 1}


class MeshgateWsgi:
    """A WSGI app: Slack requests to Bolt; /healthz, /readyz and /metrics answered here."""

    def __init__(
        self,
        app: App,
        *,
        signing_secret: str,
        readiness: Mapping[str, ReadinessCheck] | None = None,
        liveness: Mapping[str, ReadinessCheck] | None = None,
        registry: CollectorRegistry = observability.REGISTRY,
    ) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self._verifier = SignatureVerifier(signing_secret)
        self._readiness = dict(readiness or {})
        self._liveness = dict(liveness or {})
        self._registry = registry

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with logs.correlation(environ.get("HTTP_X_REQUEST_ID")) as correlation_id:

            def respond(status: str, headers: list[tuple[str, str]], *exc: object) -> object:
                return start_response(
                    status,
                    [*headers, ("X-Request-Id", correlation_id)],
                    *exc,  # type: ignore[arg-type]
                )

            path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
            if method == "GET" and path == "/healthz":
                return self._live(respond)
            if method == "GET" and path == "/readyz":
                return self._ready(respond)
            if method == "GET" and path == "/metrics":
                respond("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
                return [generate_latest(self._registry)]
            if method == "POST" and path == EVENTS_PATH:
                refusal = gate.admit(environ, verifier=self._verifier)
                if refusal is None:
                    try:  # Bolt reads the payload's fields before any listener or error handler
                        return self._slack(environ, respond)  # type: ignore[arg-type]
                    except gate.SHAPE_ERRORS as e:
                        refusal = gate.unreadable(e)
                log.warning("slack request refused: %s (%s)", refusal.status, refusal.reason)
                respond(refusal.status, [_TEXT])
                return [f"{refusal.reason}\n".encode()]
            return self._slack(environ, respond)  # type: ignore[arg-type]

    def _live(self, respond: Callable[..., object]) -> list[bytes]:
        failing = [name for name, check in self._liveness.items() if not _passes(name, check)]
        if failing:
            respond("503 Service Unavailable", [_TEXT])
            return [f"not live: {', '.join(failing)}\n".encode()]
        respond("200 OK", [_TEXT])
        return [b"ok\n"]

    def _ready(self, respond: Callable[..., object]) -> list[bytes]:
        failing = [name for name, check in self._readiness.items() if not _passes(name, check)]
        if failing:
            respond("503 Service Unavailable", [_TEXT])
            return [f"not ready: {', '.join(failing)}\n".encode()]
        respond("200 OK", [_TEXT])
        names = ", ".join(self._readiness) or "no checks"
        return [f"ready: {names}\n".encode()]


def _passes(name: str, check: ReadinessCheck) -> bool:
    try:
        return bool(check())
    except Exception as e:  # noqa: BLE001 - a failing check must not fail the probe itself
        log.warning("health check %s raised %s", name, type(e).__name__)
        return False
