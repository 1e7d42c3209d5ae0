"""`meshgate serve` in Socket Mode: Slack over a WebSocket; /healthz, /readyz, /metrics on --port.

Socket Mode needs no public endpoint for Slack, but the Deployment's probes and Prometheus still
need HTTP: the same MeshgateWsgi as in HTTP mode answers the three operations paths on --port,
and every other path is 404 (Slack sends nothing over HTTP in this mode). Readiness adds
`socket_mode`: the WebSocket to Slack is open (slack_sdk's `SocketModeClient.is_connected`),
so a replica whose connection is down and reconnecting gets no traffic counted on it.

SIGTERM (or Ctrl-C) stops the HTTP server as in HTTP mode (bot.cli.stopping), then closes the
WebSocket; the caller's `with wiring.open_bot(...)` drains the worker and stops what it started.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cli import stopping
from bot.slack.app import SlackParts
from bot.slack.wsgi import MeshgateWsgi, ReadinessCheck

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class OpsOnly:
    """The operations endpoints of a MeshgateWsgi; 404 for anything else."""

    def __init__(self, surface: MeshgateWsgi) -> None:
        self._surface = surface

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in OPS_PATHS:
            return self._surface(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: in Socket Mode only /healthz, /readyz and /metrics are served\n"]


def serve(
    slack: SlackParts,
    *,
    app_token: str,
    host: str,
    port: int,
    readiness: Mapping[str, ReadinessCheck],
    liveness: Mapping[str, ReadinessCheck],
) -> int:
    """Connect to Slack, serve the operations endpoints until SIGTERM, disconnect; exit status.

    1 when the first connection cannot be opened (a revoked app token, Socket Mode off for the
    app, Slack unreachable): said in one line, without the token.
    """
    handler = SocketModeHandler(slack.app, app_token, web_client=slack.client)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except (SlackApiError, SlackClientError, OSError) as e:
        what = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
        log.error(
            "meshgate: cannot open the Socket Mode connection (%s); check "
            "MESHGATE_SLACK_APP_TOKEN (an app-level token with connections:write) and that "
            "Socket Mode is enabled for the app",
            what,
        )
        handler.close()  # type: ignore[no-untyped-call]
        return 1
    try:
        checks = {**readiness, "socket_mode": handler.client.is_connected}
        # Nothing reaches /slack/events through OpsOnly; the verifier still needs a secret.
        surface = MeshgateWsgi(
            slack.app, signing_secret=secrets.token_hex(16), readiness=checks, liveness=liveness
        )
        log.warning(
            "meshgate: Socket Mode; serving /healthz, /readyz, /metrics on %s:%d", host, port
        )
        stopping.serve(OpsOnly(surface), host=host, port=port)
    finally:
        handler.close()  # type: ignore[no-untyped-call]
    return 0
