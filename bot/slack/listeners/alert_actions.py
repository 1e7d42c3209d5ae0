"""The Acknowledge and Snooze 1 h / 1 d buttons on an alert's message.

Each acks at once and runs, on the Worker, the same handler as `/rollout ack ALERT` or
`/rollout snooze ALERT 1h`; the alert's message is then updated in place (who acknowledged,
and when; until when it is snoozed). A refusal (already acknowledged, resolved, gone) is shown
to the clicker alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot import observability
from bot.slack import alert_blocks
from bot.slack.listeners import Deps, fields
from commands import dispatch


def register(app: App, deps: Deps) -> None:
    """Listen for the three alert buttons."""

    def on_click(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        actor, channel = fields.user_id(body), fields.channel_id(body)
        alert_id = str(action.get("value", ""))
        action_id = str(action.get("action_id", ""))

        def work() -> None:
            if action_id == alert_blocks.ACK_ACTION:
                text = f"ack {alert_id}"
            else:
                text = f"snooze {alert_id} {alert_blocks.SNOOZES[action_id]}"
            reply = dispatch.execute(text, actor=actor, ctx=deps.ctx)
            observability.replied(reply)
            if not reply.ok:
                deps.publisher.ephemeral(channel=channel, user=actor, reply=reply)
                return
            if deps.watcher is not None:
                deps.watcher.deliver()

        deps.hand_off(body, work, what=f"{action_id} click by {actor}")
        ack()  # after the hand-off: an acked request's work is already queued

    for action_id in (alert_blocks.ACK_ACTION, *alert_blocks.SNOOZES):
        app.action(action_id)(on_click)
