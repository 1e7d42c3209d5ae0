"""Block Kit rendering: limits hold for any size of input, and user text is escaped."""

from __future__ import annotations

import pytest

from bot.slack import blocks
from commands.replies import (
    ChangeSummary,
    ErrorView,
    HistoryLine,
    Reply,
    RequestView,
    RolloutView,
)
from workflows.errors import ErrorCode
from workflows.gates.checklist import ChecklistLine, ItemStatus


def view(**changes: object) -> RolloutView:
    base = RolloutView(
        service="shop/checkout",
        phase="strict",
        phase_index=9,
        phase_title="STRICT mTLS by policy",
        phases=12,
        state="awaiting_approval",
        version=7,
        checklist=[ChecklistLine(id="mtls-share", title="mTLS share", status=ItemStatus.PASS)],
        approvals=[],
        request=RequestView(
            id="strict-7",
            requested_by="UALICE",
            requested_at="2026-11-25T10:00:00Z",
            expires_at="2026-11-26T10:00:00Z",
            required=2,
            change=ChangeSummary(kind="peer-authentication", mode="STRICT"),
        ),
        started_by="UALICE",
        started_at="2026-11-25T09:00:00Z",
        updated_at="2026-11-25T10:00:00Z",
    )
    return base.model_copy(update=changes)


def test_a_huge_checklist_and_diff_stay_within_block_kit_limits() -> None:
    lines = [
        ChecklistLine(
            id=f"i{n}", title="t" * 190, status=ItemStatus.FAIL, reason="r" * 900, fix="f"
        )
        for n in range(200)
    ]
    big = view(checklist=lines)
    assert big.request is not None
    big = big.model_copy(
        update={"request": big.request.model_copy(update={"diff": "+ a\n" * 5000})}
    )
    rendered = blocks.rollout_message(big)
    assert len(rendered) <= blocks.MAX_BLOCKS
    dicts = blocks.as_dicts(rendered)  # slack_sdk raises if any limit is broken
    assert all(len(d.get("text", {}).get("text", "")) <= blocks.MAX_TEXT for d in dicts)


def test_a_long_history_is_split_into_sections_within_limits() -> None:
    history = [
        HistoryLine(at="2026-11-25T10:00:00Z", actor="UBOB", action="approve", outcome="ok",
                    detail="d" * 400)
        for _ in range(500)
    ]  # fmt: skip
    rendered = blocks.reply_blocks(Reply(command="history", ok=True, history=history))
    assert 1 < len(rendered) <= blocks.MAX_BLOCKS
    blocks.as_dicts(rendered)


@pytest.mark.parametrize(
    "text", ["<!channel> now", "<!here|here>", "<@U0BOSS>", "a & b", "<https://evil|click>"]
)
def test_user_text_cannot_ping_or_link(text: str) -> None:
    reply = Reply(
        command="reject",
        ok=False,
        error=ErrorView(code=ErrorCode.CONFLICT, message=f"rejected: {text}", usage=text),
    )
    shown = str(blocks.as_dicts(blocks.reply_blocks(reply)))
    assert text not in shown
    assert blocks.escape(text) in shown


def test_buttons_carry_the_request_and_confirm_dialogs() -> None:
    rendered = blocks.as_dicts(blocks.rollout_message(view()))
    actions = next(b for b in rendered if b["type"] == "actions")
    approve, reject = actions["elements"]
    assert approve["action_id"] == blocks.APPROVE_ACTION and approve["style"] == "primary"
    assert reject["action_id"] == blocks.REJECT_ACTION and reject["style"] == "danger"
    assert approve["value"] == '{"service":"shop/checkout","request":"strict-7"}'
    assert "apply peer-authentication STRICT" in approve["confirm"]["text"]["text"]
    assert reject["confirm"]["confirm"]["text"] == "Reject"
