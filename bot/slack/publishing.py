"""Carrying replies to Slack: the rollout's message updated in place, its thread, ephemerals.

One message per rollout, in the channel where it started: `chat.update` re-renders it after
every change, and a thread reply says what happened and who did it. Refusals and read-only
answers go only to the person who asked (`chat.postEphemeral`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack import blocks
from bot.slack.state import MessageRef, SlackState
from commands import dispatch, parsing
from commands.context import Context
from commands.replies import Reply, RolloutView
from workflows.naming import ServiceRef
from workflows.rollout import machine

log = logging.getLogger(__name__)

# Renders of one refresh before giving up on a rollout that keeps moving (each is one update).
_MAX_RENDERS = 5


class Publisher:
    """Posts and updates meshgate's messages through the Web API."""

    def __init__(self, *, client: WebClient, state: SlackState, ctx: Context) -> None:
        self._client = client
        self._state = state
        self._ctx = ctx
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def ephemeral(
        self,
        *,
        channel: str,
        user: str,
        reply: Reply,
        respond: Callable[..., Any] | None = None,
    ) -> None:
        """Show `reply` to `user` alone.

        `chat.postEphemeral` needs the bot in the channel; a slash command's response URL
        (`respond`) does not, so it answers where the bot was never invited (DMs included).
        """
        text = blocks.reply_text(reply)
        rendered = blocks.as_dicts(blocks.reply_blocks(reply))
        try:
            self._client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=rendered)
            return
        except (SlackApiError, SlackClientError) as e:
            if respond is None:
                log.warning("ephemeral reply to %s failed: %s", user, _error(e))
                return
            log.info("ephemeral reply to %s failed (%s); using the response URL", user, _error(e))
        try:
            respond(text=text, blocks=rendered, response_type="ephemeral")
        except (SlackApiError, SlackClientError, OSError) as e:
            log.warning("response URL reply to %s failed: %s", user, type(e).__name__)

    def changed(
        self,
        reply: Reply,
        *,
        actor: str,
        channel: str,
        respond: Callable[..., Any] | None = None,
    ) -> None:
        """After a state change: refresh the rollout's message and note the change in its thread.

        If the message cannot be posted (the bot is not in the channel), the person who typed
        the command still gets the reply, with the way to fix it.
        """
        if reply.rollout is None:
            return
        ref = self.refresh(reply.rollout.service, channel=channel)
        if ref is None and respond is not None:
            hint = " (invite the bot to this channel to get the rollout's message here)"
            shown = reply.model_copy(update={"message": (reply.message or "") + hint})
            self.ephemeral(channel=channel, user=actor, reply=shown, respond=respond)
            return
        if ref is not None and reply.message:
            note = f"{blocks.mention(actor)}: {blocks.escape(reply.message)}"
            try:
                self._client.chat_postMessage(
                    channel=ref.channel, thread_ts=ref.ts, text=blocks.cut(note)
                )
            except (SlackApiError, SlackClientError) as e:
                log.warning("thread note for %s failed: %s", reply.rollout.service, _error(e))

    def decided(self, reply: Reply, *, actor: str, channel: str, service: str) -> None:
        """After a button or modal: show the change, or refuse to the clicker alone.

        A refused click also refreshes the message, so a late click on an expired or decided
        request shows everyone its real state.
        """
        if reply.ok:
            self.changed(reply, actor=actor, channel=channel)
        else:
            self.ephemeral(channel=channel, user=actor, reply=reply)
            self.refresh(service, channel=channel)

    def refresh(self, service: str, *, channel: str) -> MessageRef | None:
        """Re-render the rollout's message if its state moved since the last render.

        Refreshes race (two clicks, two replicas): each re-reads the rollout after its update
        and renders again if it moved on, so the last update shows the latest state; a message
        already showing the current state is left alone (no cluster read, no Slack call).
        """
        with self._lock_for(service):
            ref = self._state.message_of(service)
            if ref is None and not channel:
                return None  # never posted, and nowhere to post (a sweep, not a command)
            for _ in range(_MAX_RENDERS):
                key = self._render_key(service)
                if key is None or (ref is not None and ref.rendered == key):
                    return ref
                view = self._current_view(service)
                if view is None:
                    return ref
                rendered = self._render(service, view, channel=channel, key=key)
                if rendered is None:
                    return ref
                ref = rendered
            return ref

    def _lock_for(self, service: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(service, threading.Lock())

    def _render_key(self, service: str) -> str | None:
        """What the message shows, in a few characters: version, state, pending request."""
        stored = self._ctx.store.load(service)
        if stored is None:
            return None
        now_view = machine.current(stored, now=self._ctx.clock()).rollout
        request = now_view.request.id if now_view.request else ""
        return f"{now_view.version}/{now_view.state.value}/{request}"

    def show(self, view: RolloutView) -> None:
        """Put a freshly evaluated view (a `status`) on the rollout's existing message.

        So the message follows the checks as they complete, not only the phase moves; an
        unchanged checklist costs no Slack call, and a rollout with no message gets none.
        """
        with self._lock_for(view.service):
            key = self._render_key(view.service)
            if key is not None and self._state.message_of(view.service) is not None:
                self._render(view.service, view, channel="", key=key)

    def _render(
        self, service: str, view: RolloutView, *, channel: str, key: str
    ) -> MessageRef | None:
        ref = self._state.message_of(service)
        rendered = blocks.as_dicts(blocks.rollout_message(view))
        digest = hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:16]
        text = blocks.fallback_text(view)
        try:
            if ref is not None and ref.digest == digest:
                posted = MessageRef(channel=ref.channel, ts=ref.ts, rendered=key, digest=digest)
            elif ref is not None:
                self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=rendered)
                posted = MessageRef(channel=ref.channel, ts=ref.ts, rendered=key, digest=digest)
            else:
                response = self._client.chat_postMessage(
                    channel=channel, text=text, blocks=rendered
                )
                posted = MessageRef(
                    channel=str(response["channel"]),
                    ts=str(response["ts"]),
                    rendered=key,
                    digest=digest,
                )
        except (SlackApiError, SlackClientError) as e:
            log.warning("rollout message for %s failed: %s", service, _error(e))
            return None
        self._state.remember_message(service, posted)
        return posted

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
