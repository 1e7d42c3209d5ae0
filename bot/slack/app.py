"""The Bolt app factory: a configured App with every listener registered. Wiring only."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack.listeners import Deps, actions, commands, deliveries, events, views
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from commands.context import Context

# Slack's Retry-After is honoured for up to this many retries per call (then the call fails).
RATE_LIMIT_RETRIES = 3


def web_client(*, token: str, base_url: str | None) -> WebClient:
    """A Web API client that waits out 429s (Retry-After) and can point at a proxy or stand-in."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def build_app(
    *,
    client: WebClient,
    signing_secret: str,
    ctx: Context,
    state: SlackState,
    slash_command: str,
) -> App:
    """A Bolt app over `ctx`, verifying requests with `signing_secret`."""
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        logger=logging.getLogger("meshgate.slack"),
    )
    deps = Deps(
        ctx=ctx,
        state=state,
        publisher=Publisher(client=client, state=state, ctx=ctx),
        slash_command=slash_command,
    )
    deliveries.register(app, deps)
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
    return app
