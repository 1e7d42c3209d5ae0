"""The reject modal's submission: reject the request with the reason typed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.slack import blocks
from bot.slack.listeners import Deps
from bot.slack.listeners.actions import decision_target
from commands import dispatch, parsing
from commands.errors import UsageError
from commands.parsing import MAX_REASON


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
        ack()
        actor = str(body["user"]["id"])
        metadata = str(view.get("private_metadata") or "{}")
        channel = str(json.loads(metadata).get("channel", "")) if metadata else ""
        try:
            service, request_id = decision_target(metadata)
        except UsageError as e:
            deps.publisher.ephemeral(
                channel=channel, user=actor, reply=dispatch.error_reply("reject", e)
            )
            return
        reply = dispatch.run(
            parsing.Reject(service=service, reason=reason, request_id=request_id),
            actor=actor,
            ctx=deps.ctx,
        )
        if reply.ok:
            deps.publisher.changed(reply, actor=actor, channel=channel)
        else:
            deps.publisher.ephemeral(channel=channel, user=actor, reply=reply)
            deps.publisher.refresh(str(service), channel=channel)
