"""The Slack side of the bot: the Web API client, one Publisher, the worker and the Bolt app.

`build` is called by the composition root (bot.wiring) only; `build_app` registers every
listener (Bolt starter layout). Wiring only.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack import gate
from bot.slack.alerting import SlackAlerts
from bot.slack.config import SlackSettings
from bot.slack.counted_client import CountedWebClient
from bot.slack.directory import SlackDirectory
from bot.slack.identity import BotIdentity
from bot.slack.listeners import Deps, actions, alert_actions, commands, events, views
from bot.slack.pacing import PacedRetryHandler, Pacer
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.slack.worker import Worker
from bot.state.store import RedisStore
from bot.watching import Watcher
from commands.context import Context

# Slack's Retry-After is honoured for up to this many retries per call (then the call fails).
RATE_LIMIT_RETRIES = 3
# slack_sdk's default read timeout for a Web API call, in seconds.
WEB_API_TIMEOUT_S = 30
# Socket Mode does not sign requests; Bolt still wants a secret to construct.
_SOCKET_MODE_SECRET = "socket-mode-does-not-sign"  # noqa: S105 - not a credential


@dataclass(frozen=True)
class SlackParts:
    """The Slack side of a bot: client, bookkeeping, the one publisher, worker and Bolt app."""

    client: WebClient
    state: SlackState
    publisher: Publisher
    worker: Worker
    app: App
    alerts: SlackAlerts
    pacer: Pacer  # one message per second per channel: alerts and reconciliation share it


def web_client(*, token: str, base_url: str | None, timeout: int = WEB_API_TIMEOUT_S) -> WebClient:
    """A Web API client that waits out 429s (Retry-After) and can point at a proxy or stand-in.

    A call Slack does not answer within `timeout` seconds raises TimeoutError (an OSError):
    the Publisher treats it as "may have landed" (bot.slack.publishing).
    """
    client = CountedWebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=timeout)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def build(
    *,
    ctx: Context,
    store: RedisStore,
    slack: SlackSettings,
    slash_command: str,
    watcher: Watcher,
    alert_channel: str | None = None,
    oncall_group: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[Context, SlackParts]:
    """The context with Slack's user groups as its directory, and the Slack parts over it.

    The watcher gets the Slack notifier of the alerts (paced by `sleep` and `monotonic`).
    """
    client = web_client(token=slack.bot_token, base_url=slack.api_url)
    ctx = dataclasses.replace(ctx, directory=SlackDirectory(client))
    state = SlackState(store.client, claims=store.quick_client)
    publisher = Publisher(client=client, state=state, ctx=ctx)
    pacer = Pacer(sleep=sleep, monotonic=monotonic)
    alert_client = CountedWebClient(
        token=slack.bot_token, base_url=slack.api_url or WebClient.BASE_URL
    )
    alert_client.retry_handlers.append(PacedRetryHandler(pacer, max_retry_count=RATE_LIMIT_RETRIES))
    alerts = SlackAlerts(
        client=alert_client,
        state=state,
        pacer=pacer,
        channel=alert_channel,
        oncall_group=oncall_group,
    )
    watcher.notifier = alerts
    worker = Worker()
    deps = Deps(
        ctx=ctx,
        state=state,
        publisher=publisher,
        worker=worker,
        slash_command=slash_command,
        watcher=watcher,
    )
    identity = BotIdentity(client=client, submit=lambda job: worker.submit(job, what="auth.test"))
    identity.start_learning()
    app = build_app(
        client=client,
        signing_secret=slack.signing_secret or _SOCKET_MODE_SECRET,
        authorize=lambda: identity.authorize(),  # Bolt reads a bound method's `self` as an argument
    )
    for listeners in (commands, actions, alert_actions, views, events):
        listeners.register(app, deps)
    parts = SlackParts(
        client=client,
        state=state,
        publisher=publisher,
        worker=worker,
        app=app,
        alerts=alerts,
        pacer=pacer,
    )
    return ctx, parts


def build_app(
    *, client: WebClient, signing_secret: str, authorize: Callable[[], AuthorizeResult]
) -> App:
    """A Bolt app verifying requests with `signing_secret`, with no listener yet.

    `authorize` (bot.slack.identity) answers without calling Slack, so no ack waits on it.
    """
    app = App(
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,
        logger=logging.getLogger("meshgate.slack"),
        raise_error_for_unhandled_request=True,  # answered by gate.answer_bolt_error, in a line
    )
    app.error(gate.answer_bolt_error)
    return app
