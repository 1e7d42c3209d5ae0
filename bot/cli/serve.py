"""`meshgate serve`: the Slack app over HTTP (waitress) or Socket Mode, on the same commands.

Both modes serve /healthz, /readyz and /metrics on --port (Socket Mode: bot.cli.socket_mode)
and stop cleanly on SIGTERM (bot.cli.stopping).

Settings are checked once at start-up; every missing or malformed one is named in a single
error, with no traceback and no token in the text.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bot import readiness, wiring
from bot import settings as settings_module
from bot.cli import cluster
from bot.cli.cluster import cluster_from
from bot.slack.config import check_slack_settings
from bot.slack.wsgi import MeshgateWsgi

__all__ = ["cluster_from", "register", "run"]  # cluster_from: moved to bot.cli.cluster
log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add `serve` to the CLI."""
    serve = sub.add_parser("serve", help="the Slack app (HTTP, or Socket Mode with an app token)")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server in a pod listens on all
    cluster.add_arguments(serve, demo=True, namespace=False)
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or Ctrl-C, then stop what was started (bot.cli.stopping)."""
    settings = settings_module.load()
    slack = check_slack_settings(settings)
    reader, writer = cluster_from(args, settings)
    with wiring.open_bot(
        settings,
        cluster=reader,
        writer=writer,
        state_dir=settings.state_dir.expanduser(),
        slack=slack,
        schedule=True,
    ) as bot:
        assert bot.slack is not None  # noqa: S101 - open_bot builds it when given Slack settings
        checks = {
            "redis": readiness.redis(bot.store),
            "slack": readiness.slack(bot.slack.client),
            "scheduler": readiness.scheduler(bot.scheduler),
        }
        # liveness: only what a restart of the pod would mend (bot.slack.wsgi)
        live = {"redis": bot.supervisor.live} if bot.supervisor is not None else {}
        if slack.app_token:
            from bot.cli import socket_mode

            return socket_mode.serve(
                bot.slack,
                app_token=slack.app_token,
                host=args.host,
                port=args.port,
                readiness=checks,
                liveness=live,
            )
        from bot.cli import stopping

        log.warning("meshgate: serving /slack/events on %s:%d", args.host, args.port)
        secret = slack.signing_secret
        assert secret  # noqa: S101 - check_slack_settings requires it without an app token
        surface = MeshgateWsgi(
            bot.slack.app, signing_secret=secret, readiness=checks, liveness=live
        )
        stopping.serve(surface, host=args.host, port=args.port)
    return 0
