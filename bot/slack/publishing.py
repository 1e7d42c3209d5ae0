"""Carrying replies to Slack: the rollout's message updated in place, its thread, ephemerals.

One message per rollout, in the channel where it started: `chat.update` re-renders it after
every change, and a thread reply says what happened and who did it. Refusals and read-only
answers go only to the person who asked (`chat.postEphemeral`).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack import blocks
from bot.slack_state import MessageRef, SlackState
from commands import dispatch, parsing
from commands.context import Context
from commands.replies import Reply, RolloutView
from workflows.naming import ServiceRef

log = logging.getLogger(__name__)


class Publisher:
    """Posts and updates meshgate's messages through the Web API."""

    def __init__(self, *, client: WebClient, state: SlackState, ctx: Context) -> None:
        self._client = client
        self._state = state
        self._ctx = ctx

    def ephemeral(self, *, channel: str, user: str, reply: Reply) -> None:
        """Show `reply` to `user` alone."""
        try:
            self._client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=blocks.reply_text(reply),
                blocks=blocks.as_dicts(blocks.reply_blocks(reply)),
            )
        except (SlackApiError, SlackClientError) as e:
            log.warning("ephemeral reply to %s failed: %s", user, _error(e))

    def changed(self, reply: Reply, *, actor: str, channel: str) -> None:
        """After a state change: refresh the rollout's message and note the change in its thread."""
        if reply.rollout is None:
            return
        ref = self.refresh(reply.rollout.service, channel=channel)
        if ref is not None and reply.message:
            note = f"{blocks.mention(actor)}: {blocks.escape(reply.message)}"
            try:
                self._client.chat_postMessage(
                    channel=ref.channel, thread_ts=ref.ts, text=blocks.cut(note)
                )
            except (SlackApiError, SlackClientError) as e:
                log.warning("thread note for %s failed: %s", reply.rollout.service, _error(e))

    def refresh(self, service: str, *, channel: str) -> MessageRef | None:
        """Re-render the rollout's message from stored state; post it in `channel` if new."""
        view = self._current_view(service)
        if view is None:
            return None
        ref = self._state.message_of(service)
        rendered = blocks.as_dicts(blocks.rollout_message(view))
        text = blocks.fallback_text(view)
        try:
            if ref is not None:
                self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=rendered)
                return ref
            response = self._client.chat_postMessage(channel=channel, text=text, blocks=rendered)
        except (SlackApiError, SlackClientError) as e:
            log.warning("rollout message for %s failed: %s", service, _error(e))
            return None
        ref = MessageRef(channel=str(response["channel"]), ts=str(response["ts"]))
        self._state.remember_message(service, ref)
        return ref

    def _current_view(self, service: str) -> RolloutView | None:
        status = dispatch.run(
            parsing.Status(service=ServiceRef.parse(service)), actor="meshgate", ctx=self._ctx
        )
        return status.rollout


def _error(e: SlackApiError | SlackClientError) -> str:
    """What Slack said, without the request (which carries the token)."""
    if isinstance(e, SlackApiError):
        return str(e.response.get("error", "error"))
    return type(e).__name__
