"""Showing alerts in Slack: one message per alert in the alert channel, notes in rollout threads.

`SlackAlerts.show(alert)` brings Slack up to the alert's latest revision:

- no message yet and the alert is open: post it in MESHGATE_ALERT_CHANNEL, and remember it at
  once (so a replica taking over after a crash updates it instead of posting a second one);
- a message that shows an older revision: `chat.update` it in place (services added, acked,
  snoozed, resolved with how long it lasted);
- escalated: one thread reply under it mentioning the on-call user group, once;
- each affected service whose rollout has a message gets one note in that rollout's thread
  when it joins the alert, and one when the alert resolves.

A resolved alert that was never posted is not posted (nobody needs news of a storm that passed
while Slack was away). Messages are paced per channel (bot.slack.pacing); the Web API client of
the alerts waits out 429s for their Retry-After through the same pacer.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import alert_blocks, blocks
from bot.slack.counted_client import SLACK_ERRORS
from bot.slack.pacing import Pacer
from bot.slack.state import SlackState
from commands import alerts as alert_views
from workflows.watch.alerts import Alert

log = logging.getLogger(__name__)


class SlackAlerts:
    """An AlertNotifier on Slack."""

    def __init__(
        self,
        *,
        client: WebClient,
        state: SlackState,
        pacer: Pacer,
        channel: str | None,
        oncall_group: str | None,
    ) -> None:
        self._client = client
        self._state = state
        self._pacer = pacer
        self._channel = channel
        self._oncall = oncall_group or ""
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def show(self, alert: Alert, *, shown_revision: int) -> bool:
        """Post or update the alert's message and notes; True when Slack shows this revision."""
        with self._lock_for(alert.id):
            try:
                return self._show(alert)
            except SLACK_ERRORS as e:
                log.warning("alert %s not shown: %s", alert.id, _error(e))
                return False

    def _show(self, alert: Alert) -> bool:
        view = alert_views.view(alert)
        record: dict[str, Any] = self._state.alert_message(alert.id) or {"noted": {}}
        rendered = blocks.as_dicts(alert_blocks.alert_message(view))
        text = alert_blocks.fallback_text(view)
        if "ts" not in record:
            if not alert.open:
                return True  # resolved before anyone was told: nothing to say now
            if self._channel:
                self._pacer.wait(self._channel)
                posted = self._client.chat_postMessage(
                    channel=self._channel, text=text, blocks=rendered
                )
                record.update(channel=str(posted["channel"]), ts=str(posted["ts"]))
                record["revision"] = alert.revision
                self._state.remember_alert_message(alert.id, record)
        elif int(record.get("revision", 0)) < alert.revision:
            self._pacer.wait(record["channel"])
            self._client.chat_update(
                channel=record["channel"], ts=record["ts"], text=text, blocks=rendered
            )
            record["revision"] = alert.revision
            self._state.remember_alert_message(alert.id, record)
        if alert.escalated_at is not None and not record.get("escalated") and "ts" in record:
            self._pacer.wait(record["channel"])
            self._client.chat_postMessage(
                channel=record["channel"],
                thread_ts=record["ts"],
                text=alert_blocks.escalation(view, group=self._oncall),
            )
            record["escalated"] = True
            self._state.remember_alert_message(alert.id, record)
        self._note_rollouts(alert, record)
        return True

    def _note_rollouts(self, alert: Alert, record: dict[str, Any]) -> None:
        """One note per affected rollout thread when its service joins, one when it resolves."""
        noted: dict[str, str] = record.setdefault("noted", {})
        wanted = "resolved" if not alert.open else "open"
        view = alert_views.view(alert)
        for service in alert.services:
            if noted.get(service) == wanted or (wanted == "resolved" and service not in noted):
                continue
            message = self._state.message_of(service)
            if message is None:
                continue
            self._pacer.wait(message.channel)
            self._client.chat_postMessage(
                channel=message.channel,
                thread_ts=message.ts,
                text=alert_blocks.rollout_note(view, service=service),
            )
            noted[service] = wanted
            self._state.remember_alert_message(alert.id, record)

    def _lock_for(self, alert_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(alert_id, threading.Lock())


def _error(e: BaseException) -> str:
    """What Slack said, without the request (which carries the token)."""
    if isinstance(e, SlackApiError):
        return str(e.response.get("error", "error"))
    return type(e).__name__
