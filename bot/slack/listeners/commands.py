"""The slash command (`/rollout VERB ...`): ack at once, run the verb on the worker, answer.

`help` and usage errors need nothing but the text: they are answered on the worker's quick
lane, with no delivery claim (a replayed `help` is harmless), so a hung Redis cannot hold them.

Changes update the rollout's message in the channel; everything else (refusals, usage errors,
status, lists, history, help) is shown only to the person who typed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot import observability
from bot.slack.listeners import Deps
from commands import dispatch


def register(app: App, deps: Deps) -> None:
    """Listen for the configured slash command."""

    @app.command(deps.slash_command)
    def on_command(
        ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        actor = str(command["user_id"])
        channel = str(command["channel_id"])
        text = str(command.get("text") or "")
        instant = dispatch.instant(text, actor=actor, ctx=deps.ctx)
        if instant is not None:  # help, a usage error: never behind work waiting on Redis

            def answer() -> None:
                observability.replied(instant)
                deps.publisher.ephemeral(
                    channel=channel, user=actor, reply=instant, respond=respond
                )

            deps.worker.submit(answer, what=f"/rollout by {actor}", quick=True)
            ack()
            return

        def work() -> None:
            reply = dispatch.execute(text, actor=actor, ctx=deps.ctx)
            observability.replied(reply)
            if reply.moved:
                deps.publisher.changed(reply, actor=actor, channel=channel, respond=respond)
                return
            deps.publisher.ephemeral(channel=channel, user=actor, reply=reply, respond=respond)
            if reply.ok and reply.alert is not None and deps.watcher is not None:
                deps.watcher.deliver()  # the alert's message shows the ack or snooze
            if reply.ok and reply.command == "status" and reply.rollout is not None:
                deps.publisher.show(reply.rollout)  # the channel's message follows the checks
            if reply.ok and reply.metrics is not None:
                deps.publisher.chart(reply)

        deps.hand_off(command, work, what=f"/rollout by {actor}")
        ack()  # after the hand-off: an acked request's work is already queued
