"""The slash command (`/rollout VERB ...`): ack at once, run the verb, then answer.

Changes update the rollout's message in the channel; everything else (refusals, usage errors,
status, lists, history, help) is shown only to the person who typed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.slack.listeners import Deps
from commands import dispatch

CHANGES = frozenset({"start", "advance", "approve", "reject", "attest", "rollback", "abort"})


def register(app: App, deps: Deps) -> None:
    """Listen for the configured slash command."""

    @app.command(deps.slash_command)
    def on_command(
        ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        ack()
        actor = str(command["user_id"])
        channel = str(command["channel_id"])
        reply = dispatch.execute(str(command.get("text") or ""), actor=actor, ctx=deps.ctx)
        if reply.ok and reply.command in CHANGES:
            deps.publisher.changed(reply, actor=actor, channel=channel, respond=respond)
        else:
            deps.publisher.ephemeral(channel=channel, user=actor, reply=reply, respond=respond)
            if reply.ok and reply.command == "status" and reply.rollout is not None:
                deps.publisher.show(reply.rollout)  # the channel's message follows the checks
