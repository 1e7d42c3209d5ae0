"""The reject modal's submission: reject the request with the reason typed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot import observability
from bot.slack import blocks
from bot.slack.listeners import Deps, fields
from bot.slack.listeners.actions import decision_target, target_or_refuse, team_of
from commands import dispatch
from commands.errors import UsageError
from commands.parsing import MAX_REASON
from workflows.rollout.events import Reject

MALFORMED_FORM = "This form is not one meshgate opened; reject from the rollout's message."


def register(app: App, deps: Deps) -> None:
    """Listen for the reject modal."""

    @app.view(blocks.REJECT_VIEW)
    def on_reject_reason(
        ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        values = view.get("state", {}).get("values", {})
        reason = str(
            values.get(blocks.REASON_BLOCK, {}).get(blocks.REASON_INPUT, {}).get("value") or ""
        )
        if len(reason) > MAX_REASON:
            ack(
                response_action="errors",
                errors={blocks.REASON_BLOCK: f"Keep the reason under {MAX_REASON} characters."},
            )
            return
        actor, team = fields.user_id(body), team_of(body)
        metadata = str(view.get("private_metadata") or "{}")
        channel = _channel_in(metadata)
        if not channel or not _decides(metadata):
            # not the form meshgate opened: say so in it, where the person is looking
            ack(response_action="errors", errors={blocks.REASON_BLOCK: MALFORMED_FORM})
            return

        def work() -> None:
            target = target_or_refuse(
                deps, metadata, verb="reject", actor=actor, channel=channel, team=team
            )
            if target is None:
                return
            service, request_id = target
            reply = dispatch.run(
                Reject(service=service, reason=reason, request_id=request_id),
                actor=actor,
                ctx=deps.ctx,
            )
            observability.replied(reply)
            deps.publisher.decided(reply, actor=actor, channel=channel, service=str(service))

        deps.hand_off(body, work, what=f"reject by {actor}")
        ack()  # after the hand-off: an acked request's work is already queued


def _decides(metadata: str) -> bool:
    """True when the form carries a decision (a service and a request) meshgate can read."""
    try:
        decision_target(metadata)
    except UsageError:
        return False
    return True


def _channel_in(metadata: str) -> str:
    try:
        data = json.loads(metadata)
    except ValueError:
        return ""
    return str(data.get("channel", "")) if isinstance(data, dict) else ""
