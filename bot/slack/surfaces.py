"""Slack surfaces beyond messages: the reject modal and the App Home tab."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot import wording
from bot.slack import blocks
from commands.replies import AlertView, RolloutSummary


def reject_modal(*, service: str, request_id: str, channel: str) -> View:
    """The modal that asks a rejecting approver why."""
    return View(
        type="modal",
        callback_id=blocks.REJECT_VIEW,
        private_metadata=json.dumps(
            {"service": service, "request": request_id, "channel": channel}
        ),
        title=PlainTextObject(text="Reject request"),
        submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            blocks.section(f"Reject the request to advance *{service}*?"),
            InputBlock(
                block_id=blocks.REASON_BLOCK,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(
                    action_id=blocks.REASON_INPUT, multiline=True, max_length=500
                ),
                optional=True,
            ),
        ],
    )


def home_view(
    rollouts: Sequence[RolloutSummary],
    *,
    alerts: Sequence[AlertView] | None = None,
    alerts_note: str = "",
) -> View:
    """App Home: the open alerts first (what needs someone now), then every rollout."""
    shown: list[Block] = [HeaderBlock(text=PlainTextObject(text="Open alerts", emoji=False))]
    if alerts:
        lines = [
            f":rotating_light: `{a.id}` {blocks.escape(wording.alert_headline(a))}\n"
            f"      {blocks.escape(wording.alert_status(a))}"
            for a in alerts
        ]
        shown.extend(blocks.section(chunk) for chunk in blocks.chunks(lines)[:40])
    else:
        said = alerts_note or "No open alerts: every watched service holds its baseline."
        shown.append(blocks.section(blocks.escape(said)))
    shown.append(DividerBlock())
    shown.append(HeaderBlock(text=PlainTextObject(text="meshgate rollouts", emoji=False)))
    lines = blocks.rollouts_text(rollouts).split("\n")
    shown.extend(blocks.section(chunk) for chunk in blocks.chunks(lines)[:50])
    return View(type="home", blocks=shown[:100])
