"""Block Kit for alerts: the alert message with its buttons, and its thread notes.

The one place alert wording for Slack lives (sentences come from bot.wording, shared with the
console). Every string that came from the cluster is escaped.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from bot import wording
from bot.slack.blocks import MAX_HEADER, chunks, cut, escape, mention, section
from commands.replies import AlertView

ACK_ACTION = "alert_ack"
SNOOZE_HOUR_ACTION = "alert_snooze_1h"
SNOOZE_DAY_ACTION = "alert_snooze_1d"
SNOOZES = {SNOOZE_HOUR_ACTION: "1h", SNOOZE_DAY_ACTION: "1d"}
# Services listed on the message itself; the rest are counted (a 300-service alert stays short).
MAX_LISTED = 40


def alert_message(alert: AlertView) -> list[Block]:
    """The alert's one message in the alert channel, updated in place until it resolves."""
    icon = ":white_check_mark:" if alert.status == "resolved" else ":rotating_light:"
    title = "Resolved" if alert.status == "resolved" else "Alert"
    shown: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=cut(f"{title}: {alert.cause}", MAX_HEADER))),
        section(f"{icon} {escape(wording.alert_headline(alert))}"),
    ]
    listed = [f"• `{escape(s)}`" for s in alert.services[:MAX_LISTED]]
    if len(alert.services) > MAX_LISTED:
        listed.append(f"… and {len(alert.services) - MAX_LISTED} more")
    shown.extend(section(chunk) for chunk in chunks(listed)[:3])
    shown.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=cut(f"`{alert.id}` · {_status(alert)}", 2000),
                )
            ]
        )
    )
    if alert.status != "resolved":
        buttons = []
        if not alert.acked_by:
            buttons.append(
                ButtonElement(
                    text=PlainTextObject(text="Acknowledge"),
                    action_id=ACK_ACTION,
                    value=alert.id,
                    style="primary",
                )
            )
        buttons += [
            ButtonElement(text=PlainTextObject(text=label), action_id=action, value=alert.id)
            for action, label in (
                (SNOOZE_HOUR_ACTION, "Snooze 1 h"),
                (SNOOZE_DAY_ACTION, "Snooze 1 d"),
            )
        ]
        shown.append(ActionsBlock(block_id=f"alert-{alert.id}", elements=buttons))
    return shown


def fallback_text(alert: AlertView) -> str:
    """Notification text of the alert's message."""
    prefix = "Resolved: " if alert.status == "resolved" else "Alert: "
    return cut(prefix + wording.alert_headline(alert), 3000)


def rollout_note(alert: AlertView, *, service: str) -> str:
    """The note in an affected rollout's thread."""
    if alert.status == "resolved":
        return escape(f"resolved: {wording.alert_headline(alert)} ({wording.alert_status(alert)})")
    return escape(
        f"{service} regressed: {wording.alert_headline(alert)} (alert {alert.id}; "
        f"`/rollout ack {alert.id}`)"
    )


def escalation(alert: AlertView, *, group: str) -> str:
    """The one mention of the on-call group for an alert nobody acknowledged."""
    who = f"<!subteam^{group}>" if group else "on-call"
    return f"{who}: alert `{alert.id}` is unacknowledged since {alert.opened_at}"


def _status(alert: AlertView) -> str:
    """The status line, escaped, with Slack users as mentions."""
    said = escape(wording.alert_status(alert))
    for who in {alert.acked_by, alert.snoozed_by} - {None, ""}:
        assert who is not None  # noqa: S101 - filtered above
        said = said.replace(f"by {escape(who)}", f"by {mention(who)}")
    return said
