"""App Home: every rollout with its phase, state and pending approvals, and the open alerts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import surfaces
from bot.slack.counted_client import SLACK_ERRORS
from bot.slack.listeners import Deps
from commands import alerts, dispatch, parsing
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    """Listen for app_home_opened."""

    @app.event("app_home_opened")
    def on_home_opened(
        event: dict[str, Any], body: dict[str, Any], ack: Callable[..., None]
    ) -> None:
        if event.get("tab", "home") != "home":
            ack()
            return
        user = str(event["user"])

        def work() -> None:
            listing = dispatch.run(parsing.ListRollouts(), actor=user, ctx=deps.ctx)
            try:
                open_alerts = alerts.open_views(deps.ctx)
                note = "" if open_alerts is not None else "the regression watch is not configured"
            except StoreUnavailable as e:
                open_alerts, note = None, f"alerts unavailable: {e}"
            if listing.rollouts is None:
                note = listing.error.message if listing.error else "rollouts unavailable"
                view = surfaces.home_view([], alerts=open_alerts, alerts_note=note)
            else:
                view = surfaces.home_view(listing.rollouts, alerts=open_alerts, alerts_note=note)
            # the app's client, not Bolt's per-request one: its failures are counted
            publish_home(app.client, deps, user=user, view=view.to_dict())

        deps.hand_off(body, work, what=f"App Home of {user}")
        ack()  # after the hand-off: an acked request's work is already queued


def publish_home(client: WebClient, deps: Deps, *, user: str, view: dict[str, Any]) -> None:
    """views.publish with the last hash; on a hash conflict, publish once more without it."""
    known = deps.state.home_hash(user)
    try:
        try:
            response = client.views_publish(user_id=user, view=view, hash=known)
        except SlackApiError as e:
            if e.response.get("error") != "hash_conflict":
                raise
            response = client.views_publish(user_id=user, view=view)
    except SLACK_ERRORS as e:
        said = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
        log.warning("App Home publish failed: %s", said)
        return
    new_hash = (response.get("view") or {}).get("hash")
    if new_hash:
        deps.state.remember_home_hash(user, str(new_hash))
