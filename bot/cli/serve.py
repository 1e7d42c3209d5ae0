"""`meshgate serve`: the Slack app over HTTP (waitress) or Socket Mode, on the same commands.

Settings are checked once at start-up; every missing or malformed one is named in a single
error, with no traceback and no token in the text.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot import settings as settings_module
from bot.cli import cluster
from bot.cli.cluster import cluster_from
from bot.errors import StartupError
from bot.settings import Settings
from bot.slack import expiry
from bot.slack.app import build_app, web_client
from bot.slack.directory import SlackDirectory
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.slack.wsgi import MeshgateWsgi
from bot.state.store import RedisStore
from bot.wiring import open_context
from workflows.ports import ClusterReader, ClusterWriter

__all__ = ["cluster_from", "register", "run"]  # cluster_from: moved to bot.cli.cluster
log = logging.getLogger(__name__)

_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class SlackSettings:
    """The Slack settings `serve` needs, checked."""

    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_url: str | None


def check_slack_settings(settings: Settings) -> SlackSettings:
    """Every problem with the Slack settings, in one StartupError; else the checked values."""
    problems = []
    bot = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    app = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not bot:
        problems.append("MESHGATE_SLACK_BOT_TOKEN is missing (the xoxb- token of the app)")
    elif not bot.startswith("xoxb-"):
        problems.append("MESHGATE_SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app and not app.startswith("xapp-"):
        problems.append("MESHGATE_SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if not app and not secret:
        problems.append(
            "MESHGATE_SLACK_SIGNING_SECRET is missing (needed over HTTP; "
            "or set MESHGATE_SLACK_APP_TOKEN for Socket Mode)"
        )
    if settings.slack_api_url and not re.match(r"^https?://", settings.slack_api_url):
        problems.append("MESHGATE_SLACK_API_URL must be an http(s) URL ending in /api/")
    if settings.alert_channel and not _CHANNEL_ID.match(settings.alert_channel):
        problems.append("MESHGATE_ALERT_CHANNEL must be a channel id like C0123ABCD")
    bad = [a for a in settings.approvers if not _SLACK_ID.match(a)]
    if bad:
        problems.append(
            "MESHGATE_APPROVERS must hold Slack user (U…/W…) or user-group (S…) ids; "
            f"not: {', '.join(a[:20] for a in bad)}"
        )
    if problems:
        raise StartupError("cannot start the Slack app:\n  - " + "\n  - ".join(problems))
    api_url = settings.slack_api_url
    if api_url and not api_url.endswith("/"):
        api_url += "/"
    return SlackSettings(
        bot_token=bot, signing_secret=secret or None, app_token=app or None, api_url=api_url
    )


def register(sub: Any) -> None:
    """Add `serve` to the CLI."""
    serve = sub.add_parser("serve", help="the Slack app (HTTP, or Socket Mode with an app token)")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server in a pod listens on all
    cluster.add_arguments(serve, demo=True, namespace=False)
    serve.set_defaults(func=run)


@contextmanager
def slack_runtime(
    settings: Settings,
    slack: SlackSettings,
    cluster: ClusterReader | None,
    writer: ClusterWriter | None,
) -> Iterator[tuple[Any, Any]]:
    """(Bolt app, web client) over a live context; closed on exit."""
    client = web_client(token=slack.bot_token, base_url=slack.api_url)
    with open_context(
        settings,
        cluster=cluster,
        writer=writer,
        state_dir=settings.state_dir.expanduser(),
        directory=SlackDirectory(client),
    ) as ctx:
        assert isinstance(ctx.store, RedisStore)  # noqa: S101 - open_context builds one
        app = build_app(
            client=client,
            signing_secret=slack.signing_secret or "socket-mode-does-not-sign",
            ctx=ctx,
            state=SlackState(ctx.store.client),
            slash_command=settings.slash_command,
        )
        state = SlackState(ctx.store.client)
        scheduler = expiry.start(
            ctx=ctx, publisher=Publisher(client=client, state=state, ctx=ctx), state=state
        )
        try:
            yield app, client
        finally:
            scheduler.shutdown(wait=False)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = settings_module.load()
    slack = check_slack_settings(settings)
    cluster, writer = cluster_from(args, settings)
    with slack_runtime(settings, slack, cluster, writer) as (app, client):
        if slack.app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.warning("meshgate: Socket Mode")
            handler = SocketModeHandler(app, slack.app_token, web_client=client)
            handler.start()  # type: ignore[no-untyped-call]
        else:
            import waitress

            log.warning("meshgate: serving /slack/events on %s:%d", args.host, args.port)
            waitress.serve(MeshgateWsgi(app), host=args.host, port=args.port, threads=8)
    return 0
