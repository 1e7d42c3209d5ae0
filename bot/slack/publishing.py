"""Carrying replies to Slack: the rollout's message updated in place, its thread, ephemerals.

One message per rollout, in the channel where it started: `chat.update` re-renders it from the
view the command's one pass produced (no second read of the rollout or the cluster), and a
thread reply says what happened and who did it. Refusals and read-only answers go only to the
person who asked (`chat.postEphemeral`). One Publisher serves the listeners and the scheduled
sweeps of a process (built once, in bot.wiring), so its per-rollout lock serializes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import wording
from bot.metrics import charts
from bot.slack import blocks, charts_upload
from bot.slack.state import MessageRef, SlackState
from commands import dispatch, parsing
from commands.context import Context
from commands.replies import Reply, RolloutView
from workflows.naming import ServiceRef
from workflows.rollout.happenings import HappeningKind

log = logging.getLogger(__name__)


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
        """After a state change: show the new view on the rollout's message, note it in its thread.

        If the message cannot be posted (the bot is not in the channel), the person who typed
        the command still gets the reply, with the way to fix it. A change that failed (the
        cluster refused it) is shown to the person as well.
        """
        if reply.rollout is None:
            return
        ref, failure = self._show(reply.rollout, channel=channel)
        said = wording.message(reply) or ""
        if reply.error is not None:
            said = f"{said}; {reply.error.message}" if said else reply.error.message
            self.ephemeral(channel=channel, user=actor, reply=reply, respond=respond)
        if ref is None and respond is not None and reply.error is None:
            hint = _unposted_hint(failure)
            shown = reply.model_copy(update={"warnings": [*(reply.warnings or []), hint]})
            self.ephemeral(channel=channel, user=actor, reply=shown, respond=respond)
            return
        if ref is not None and said:
            note = f"{blocks.mention(actor)}: {blocks.escape(said)}"
            asked = any(h.kind is HappeningKind.ADVANCE_REQUESTED for h in reply.happened or ())
            if asked and reply.rollout.request is not None:  # approvers hear of it once, here
                who = blocks.approver_mentions(reply.rollout.request.approvers)
                note += f"\n{who}: your approval is requested" if who else ""
            try:
                self._client.chat_postMessage(
                    channel=ref.channel, thread_ts=ref.ts, text=blocks.cut(note)
                )
            except (SlackApiError, SlackClientError) as e:
                log.warning("thread note for %s failed: %s", reply.rollout.service, _error(e))

    def note(self, service: str, text: str) -> None:
        """A note from meshgate in the rollout's thread (nothing if it has no message)."""
        ref = self._state.message_of(service)
        if ref is None:
            return
        try:
            self._client.chat_postMessage(
                channel=ref.channel, thread_ts=ref.ts, text=blocks.cut(blocks.escape(text))
            )
        except (SlackApiError, SlackClientError) as e:
            log.warning("thread note for %s failed: %s", service, _error(e))

    def chart(self, reply: Reply) -> None:
        """Upload a `metrics` reply's chart into the rollout's thread, if it has a message."""
        if reply.metrics is None or reply.metrics.history is None:
            return
        service = reply.metrics.snapshot.service
        ref = self._state.message_of(service)
        if ref is None:
            return  # no thread to put it in; the numbers went to the person who asked
        marks = [
            charts.PhaseMark(at=datetime.fromisoformat(m.at.replace("Z", "+00:00")), label=m.phase)
            for m in reply.metrics.marks
        ]
        try:
            charts_upload.upload_chart(
                self._client,
                channel=ref.channel,
                thread_ts=ref.ts,
                png=charts.png(reply.metrics.history, marks=marks),
                filename=f"{service.replace('/', '-')}-metrics.png",
                title=f"{service}: request rate, success rate, p99, mTLS share",
            )
        except charts_upload.ChartUploadFailed as e:
            log.warning("chart for %s not uploaded: %s", service, e)

    def decided(self, reply: Reply, *, actor: str, channel: str, service: str) -> None:
        """After a button or modal: show the change, or refuse to the clicker alone.

        A refused click also refreshes the message, so a late click on an expired or decided
        request shows everyone its real state.
        """
        if reply.moved:
            self.changed(reply, actor=actor, channel=channel)
        else:
            self.ephemeral(channel=channel, user=actor, reply=reply)
            self.refresh(service, channel=channel)

    def refresh(self, service: str, *, channel: str) -> MessageRef | None:
        """Re-render the rollout's message from its current state (sweeps, refused clicks)."""
        if not channel and self._state.message_of(service) is None:
            return None  # never posted, and nowhere to post (a sweep, not a command)
        view = self._current_view(service)
        return None if view is None else self.show(view, channel=channel)

    def show(self, view: RolloutView, *, channel: str = "") -> MessageRef | None:
        """Put `view` on the rollout's message: post it in `channel` if there is none yet.

        An unchanged message costs no Slack call, and a view older than the one the message
        shows is dropped (two clicks, two replicas), so the message only moves forward. Without
        a channel (a `status`), a rollout with no message gets none.
        """
        return self._show(view, channel=channel)[0]

    def _show(self, view: RolloutView, *, channel: str) -> tuple[MessageRef | None, str]:
        """`show`, and what Slack said when the message could not be posted ("" otherwise)."""
        with self._lock_for(view.service):
            ref = self._state.message_of(view.service)
            if ref is None and not channel:
                return None, ""
            if ref is not None and ref.version > view.version:
                return ref, ""
            posted, failure = self._render(view, ref=ref, channel=channel)
            return posted or ref, failure

    def _lock_for(self, service: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(service, threading.Lock())

    def _render(
        self, view: RolloutView, *, ref: MessageRef | None, channel: str
    ) -> tuple[MessageRef | None, str]:
        request = view.request.id if view.request else ""
        key = f"{view.version}/{view.state}/{request}"
        rendered = blocks.as_dicts(blocks.rollout_message(view))
        digest = hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:16]
        text = blocks.fallback_text(view)
        try:
            if ref is not None and ref.digest == digest:
                if ref.rendered == key:
                    return ref, ""
                posted = MessageRef(ref.channel, ref.ts, key, digest, view.version)
            elif ref is not None:
                self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=rendered)
                posted = MessageRef(ref.channel, ref.ts, key, digest, view.version)
            else:
                response = self._client.chat_postMessage(
                    channel=channel, text=text, blocks=rendered
                )
                posted = MessageRef(
                    str(response["channel"]), str(response["ts"]), key, digest, view.version
                )
        except (SlackApiError, SlackClientError) as e:
            log.warning("rollout message for %s failed: %s", view.service, _error(e))
            return None, _error(e)
        self._state.remember_message(view.service, posted)
        return posted, ""

    def _current_view(self, service: str) -> RolloutView | None:
        status = dispatch.run(
            parsing.Status(service=ServiceRef.parse(service)), actor="meshgate", ctx=self._ctx
        )
        return status.rollout


# What Slack says when the bot is not where it was asked to post: only then is inviting it the fix.
_NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def _unposted_hint(failure: str) -> str:
    """Why the rollout's message is not in the channel, and what to do, from Slack's answer."""
    if failure in _NOT_A_MEMBER:
        return " (invite the bot to this channel to get the rollout's message here)"
    return (
        f" (Slack did not take the rollout's message: {failure or 'no answer'}; the rollout is "
        "saved: `status` shows it, and the message follows on its next change)"
    )


def _error(e: SlackApiError | SlackClientError) -> str:
    """What Slack said, without the request (which carries the token)."""
    if isinstance(e, SlackApiError):
        return str(e.response.get("error", "error"))
    return type(e).__name__
