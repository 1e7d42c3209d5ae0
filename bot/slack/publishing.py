"""Carrying replies to Slack: the rollout's message updated in place, its thread, ephemerals.

One message per rollout, in the channel where it started: `chat.update` re-renders it from the
view the command's one pass produced (no second read of the rollout or the cluster), and a
thread reply says what happened and who did it. Refusals and read-only answers go only to the
person who asked (`chat.postEphemeral`). One Publisher serves the listeners and the scheduled
sweeps of a process (built once, in bot.wiring), so its per-rollout lock serializes them.

No Slack failure escapes: an error, a 5xx or a call that hangs past the client's timeout is
logged and counted. A message that could not be posted waits in Redis with its thread notes
(bot.slack.posting), and reconciliation (bot.slack.reconcile, `bring_in_line`) posts it, or
updates a message left behind, once Slack answers again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot import wording
from bot.metrics import charts
from bot.slack import blocks, charts_upload, posting
from bot.slack.counted_client import SLACK_ERRORS
from bot.slack.posting import Failure, Outcome
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
        except SLACK_ERRORS as e:
            said = posting.failure_of(e).said
            if respond is None:
                log.warning("ephemeral reply to %s failed: %s", user, said)
                return
            log.info("ephemeral reply to %s failed (%s); using the response URL", user, said)
        try:
            respond(text=text, blocks=rendered, response_type="ephemeral")
        except SLACK_ERRORS as e:
            log.warning("response URL reply to %s failed: %s", user, posting.failure_of(e).said)

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
        the command still gets the reply, with the way to fix it, and the thread note waits
        with the message for reconciliation. A change that failed (the cluster refused it) is
        shown to the person as well.
        """
        if reply.rollout is None:
            return
        service = reply.rollout.service
        ref, failure = self._show(reply.rollout, channel=channel)
        said = wording.message(reply) or ""
        if reply.error is not None:
            said = f"{said}; {reply.error.message}" if said else reply.error.message
            self.ephemeral(channel=channel, user=actor, reply=reply, respond=respond)
        note = ""
        if said:
            note = f"{blocks.mention(actor)}: {blocks.escape(said)}"
            asked = any(h.kind is HappeningKind.ADVANCE_REQUESTED for h in reply.happened or ())
            if asked and reply.rollout.request is not None:  # approvers hear of it once, here
                who = blocks.approver_mentions(reply.rollout.request.approvers)
                note += f"\n{who}: your approval is requested" if who else ""
        if ref is None:
            if note:
                self._keep_note(service, note)
            if respond is not None and reply.error is None:
                hint = posting.unposted_hint(failure)
                shown = reply.model_copy(update={"warnings": [*(reply.warnings or []), hint]})
                self.ephemeral(channel=channel, user=actor, reply=shown, respond=respond)
            return
        if note:
            self._thread(ref, note, service=service)

    def note(self, service: str, text: str) -> None:
        """A note from meshgate in the rollout's thread (it waits if the message has not landed)."""
        note = blocks.escape(text)
        ref = self._state.message_of(service)
        if ref is None:
            self._keep_note(service, note)
            return
        self._thread(ref, note, service=service)

    def out_of_line(self, versions: Mapping[str, int]) -> dict[str, str]:
        """The rollouts (service: version) whose message does not show it yet, and its channel.

        One Redis round trip for them all: a message in line costs nothing more.
        """
        due = {}
        for service, (ref, waiting) in self._state.messages_of(list(versions)).items():
            if waiting is not None:
                due[service] = ref.channel if ref is not None else waiting.channel
            elif ref is not None and ref.version < versions[service]:
                due[service] = ref.channel
        return due

    def bring_in_line(self, service: str, *, version: int) -> Outcome:
        """Make the rollout's message show its state at `version` (reconciliation).

        Posts a message that never landed (with its waiting thread notes), or updates one
        that shows an older version; a message already in line costs no Slack call.
        """
        if not self.out_of_line({service: version}):
            return Outcome.IN_LINE
        view = self._current_view(service)
        if view is None:
            return Outcome.NO_MESSAGE
        shown, failure = self._show(view, channel="")
        if failure is not None:
            return Outcome.UNAVAILABLE if failure.unavailable else Outcome.REFUSED
        return Outcome.IN_LINE if shown is None else Outcome.BROUGHT

    def channel_of(self, service: str) -> str:
        """The channel of the rollout's message, posted or waiting ("" if neither)."""
        ref = self._state.message_of(service)
        if ref is not None:
            return ref.channel
        waiting = self._state.posting_of(service)
        return "" if waiting is None else waiting.channel

    def _thread(self, ref: MessageRef, note: str, *, service: str) -> None:
        try:
            self._client.chat_postMessage(
                channel=ref.channel, thread_ts=ref.ts, text=blocks.cut(note)
            )
        except SLACK_ERRORS as e:
            log.warning("thread note for %s failed: %s", service, posting.failure_of(e).said)

    def _keep_note(self, service: str, note: str) -> None:
        """Keep a thread note with a message that has not landed yet (nothing if none is due)."""
        with self._lock_for(service):
            waiting = self._state.posting_of(service)
            if waiting is not None:
                kept = dataclasses.replace(waiting, notes=(*waiting.notes, note))
                self._state.remember_posting(service, kept)

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
        if not channel and not self.channel_of(service):
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

    def _show(self, view: RolloutView, *, channel: str) -> tuple[MessageRef | None, Failure | None]:
        """`show`, and how Slack failed when the message could not be shown (None otherwise).

        A message that never landed goes where it was first meant to go (its `Posting`).
        """
        with self._lock_for(view.service):
            ref = self._state.message_of(view.service)
            waiting = self._state.posting_of(view.service)
            if ref is None and waiting is None and not channel:
                return None, None
            if ref is not None and ref.version > view.version:
                if waiting is not None:
                    self._deliver_notes(view.service, ref)
                return ref, None
            posted, failure = self._render(view, ref=ref, channel=channel)
            if posted is not None and (waiting is not None or ref is None):
                self._deliver_notes(view.service, posted)  # it landed: nothing waits any more
            return posted or ref, failure

    def _lock_for(self, service: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(service, threading.Lock())

    def _render(
        self, view: RolloutView, *, ref: MessageRef | None, channel: str
    ) -> tuple[MessageRef | None, Failure | None]:
        request = view.request.id if view.request else ""
        key = f"{view.version}/{view.state}/{request}"
        rendered = blocks.as_dicts(blocks.rollout_message(view))
        digest = hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:16]
        text = blocks.fallback_text(view)
        if ref is None:
            landed = posting.post_once(
                self._client,
                self._state,
                service=view.service,
                channel=channel,
                text=text,
                blocks=rendered,
            )
            if isinstance(landed, Failure):
                log.warning("rollout message for %s failed: %s", view.service, landed.said)
                return None, landed
            ref = MessageRef(landed.channel, landed.ts, team=landed.team)
            if not landed.adopted:  # it shows this view already
                posted = dataclasses.replace(ref, rendered=key, digest=digest, version=view.version)
                self._state.remember_message(view.service, posted)
                return posted, None
        posted = dataclasses.replace(ref, rendered=key, digest=digest, version=view.version)
        if ref.digest == digest:
            if ref.rendered == key:
                return ref, None
        else:
            try:
                response = self._client.chat_update(
                    channel=ref.channel, ts=ref.ts, text=text, blocks=rendered
                )
            except SLACK_ERRORS as e:
                failure = posting.failure_of(e)
                log.warning("rollout message for %s failed: %s", view.service, failure.said)
                return None, failure
            team = ref.team or str((response.get("message") or {}).get("team", ""))
            posted = dataclasses.replace(posted, team=team)
        self._state.remember_message(view.service, posted)
        return posted, None

    def _deliver_notes(self, service: str, ref: MessageRef) -> None:
        """The message landed: post the thread notes that waited for it, then stop waiting."""
        waiting = self._state.posting_of(service)
        for note in waiting.notes if waiting is not None else ():
            self._thread(ref, note, service=service)
        self._state.forget_posting(service)

    def _current_view(self, service: str) -> RolloutView | None:
        status = dispatch.run(
            parsing.Status(service=ServiceRef.parse(service)), actor="meshgate", ctx=self._ctx
        )
        return status.rollout
