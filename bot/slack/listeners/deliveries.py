"""Global middleware: each Slack delivery acts once, whatever Slack retries.

Slack retries an event it thinks went unanswered (with `X-Slack-Retry-Num`), and a flaky
network can deliver an interaction twice. Each delivery's id (`event_id`, or the `trigger_id`
of a command or interaction) is claimed in Redis; a second delivery is acknowledged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.slack.listeners import Deps
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    """Install the once-per-delivery middleware."""

    @app.middleware
    def once_per_delivery(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 - Bolt injects by name
        delivery = body.get("event_id") or body.get("trigger_id")
        if delivery:
            try:
                first = deps.state.claim_delivery(str(delivery))
            except StoreUnavailable:
                first = True  # the command itself will answer `unavailable`
            if not first:
                log.info("dropping repeated Slack delivery %s", delivery)
                return BoltResponse(status=200, body="")
        return next()
