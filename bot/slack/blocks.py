"""Block Kit for reply models: the rollout message, ephemeral replies, the reject modal, App Home.

Built with slack_sdk's block models, whose `to_dict()` enforces Block Kit's limits; text is cut
before it reaches them (3000 characters a section, 50 blocks a message, 100 a view). Every
string that came from a person is escaped (`&`, `<`, `>`), so `<!channel>` typed into a reason
is shown, not sent as a ping. The one place Slack wording lives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import wording
from bot.metrics import text as metrics_text
from commands.replies import Reply, RolloutSummary, RolloutView
from workflows.audit.report import AuditReport
from workflows.gates.checklist import ChecklistLine

APPROVE_ACTION = "rollout_approve"
REJECT_ACTION = "rollout_reject"
REJECT_VIEW = "rollout_reject_reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"

MAX_TEXT = 3000  # Block Kit: section text
MAX_HEADER = 150  # Block Kit: header text
MAX_BLOCKS = 50  # Block Kit: blocks in a message
MAX_FALLBACK = 3000  # keep notification text short too
_ELLIPSIS = "…"

_STATUS_ICON = {
    "pass": ":white_check_mark:",
    "fail": ":x:",
    "unknown": ":grey_question:",
    "pending": ":hourglass_flowing_sand:",
    "attested": ":writing_hand:",
}
_STATE_LABEL = {
    "in_progress": "in progress",
    "awaiting_approval": "awaiting approval",
    "verifying": "verifying its change",
    "completed": "completed",
    "rolled_back": "rolled back",
    "aborted": "aborted",
}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three characters it reserves for links and mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """`text` within `limit` characters, marked when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def approver_mentions(ids: list[str]) -> str:
    """Who may approve, as mentions: users `<@U…>`, user groups `<!subteam^S…>`."""
    return " ".join(
        f"<!subteam^{i}>" if i[:1] == "S" and i.isalnum() and i.isupper() else mention(i)
        for i in ids
    )


def mention(actor: str) -> str:
    """A Slack user id as a mention; any other name escaped (console users, `meshgate`)."""
    if actor[:1] in ("U", "W") and actor.isalnum() and actor.isupper():
        return f"<@{actor}>"
    return escape(actor)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(text)))


def _checklist_text(items: Sequence[ChecklistLine]) -> str:
    lines = []
    for item in items:
        optional = " _(optional)_" if not item.required else ""
        line = f"{_STATUS_ICON.get(item.status, item.status)} *{escape(item.title)}*{optional}"
        if item.reason:
            line += f"\n      {escape(item.reason)}"
        if item.actionable:
            line += f"\n      _fix:_ {escape(item.fix)}"
        lines.append(line)
    return "\n".join(lines) or "_no checklist items_"


def button_value(service: str, request_id: str) -> str:
    """What an approval button carries: the service and the request it decides."""
    return json.dumps({"service": service, "request": request_id}, separators=(",", ":"))


def rollout_message(view: RolloutView, *, note: str = "") -> list[Block]:
    """The one message per rollout, re-rendered in place as the rollout moves."""
    state = _STATE_LABEL.get(view.state, view.state)
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=cut(f"Rollout {view.service}", MAX_HEADER), emoji=False)
        ),
        section(
            f"*Phase {view.phase_index + 1}/{view.phases}:* `{view.phase}` "
            f"{escape(view.phase_title)}\n*State:* {state}"
        ),
    ]
    if view.checklist and view.state not in ("completed", "aborted"):
        blocks.append(section(_checklist_text(view.checklist)))
    request = view.request
    if request is not None:
        votes = ", ".join(f"{mention(a.by)} at {a.at}" for a in view.approvals) or "none yet"
        words = wording.change_words(request.change) if request.change else ""
        change = f"\n*Change:* {escape(words)}" if words else ""
        if not words:  # nothing is applied: approvers sign off the gate's evidence
            change = "\n*Signs off (no change is applied):* " + escape(
                "; ".join(f"{c.id}: {c.reason or c.status.value}" for c in view.checklist)
                or "the gate as shown"
            )
        who = approver_mentions(request.approvers) or "the default approvers"
        blocks.append(DividerBlock())
        blocks.append(
            section(
                f"*{mention(request.requested_by)} asks to complete `{view.phase}`.* "
                f"Needs {request.required} approval(s) from {who}; expires "
                f"{request.expires_at}.{change}\n*Approved by:* {votes}"
            )
        )
        if request.metrics is not None:
            blocks.append(section(metrics_text.summary(request.metrics)))
        if request.diff:
            blocks.append(section(f"```{cut(escape(request.diff), MAX_TEXT - 6)}```"))
        if request.manifest:
            blocks.append(
                section(
                    "*To commit (meshgate does not write here):*\n"
                    f"```{cut(escape(request.manifest), MAX_TEXT - 60)}```"
                )
            )
        value = button_value(view.service, request.id)
        blocks.append(
            ActionsBlock(
                block_id=f"decide:{request.id}",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=APPROVE_ACTION,
                        value=value,
                        style="primary",
                        confirm=ConfirmObject(
                            title="Approve this change?",
                            text=cut(
                                f"Complete phase `{view.phase}` of {view.service}"
                                + (f" and apply {escape(words)}" if words else "")
                                + ".",
                                300,
                            ),
                            confirm="Approve",
                            deny="Cancel",
                        ),
                    ),
                    ButtonElement(
                        text="Reject",
                        action_id=REJECT_ACTION,
                        value=value,
                        style="danger",
                        confirm=ConfirmObject(
                            title="Reject this request?",
                            text=f"You will be asked for a reason. Phase `{view.phase}` stays.",
                            confirm="Reject",
                            deny="Cancel",
                        ),
                    ),
                ],
            )
        )
    decision = view.last_decision
    if decision is not None and request is None:
        reason = f": {escape(decision.reason)}" if decision.reason else ""
        by = "" if decision.outcome == "expired" else f" by {mention(decision.by)}"
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=cut(
                            f"Request to complete `{decision.phase}` {decision.outcome}{by} "
                            f"at {decision.at}{reason}"
                        )
                    )
                ]
            )
        )
    footer = (
        f"Started by {mention(view.started_by)} at {view.started_at} · updated {view.updated_at}"
    )
    if note:
        footer = f"{escape(note)} · {footer}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(footer))]))
    return blocks[:MAX_BLOCKS]


def fallback_text(view: RolloutView) -> str:
    """The notification text of a rollout message (shown where blocks are not)."""
    state = _STATE_LABEL.get(view.state, view.state)
    return cut(f"Rollout {view.service}: phase {view.phase}, {state}", MAX_FALLBACK)


def reply_blocks(reply: Reply) -> list[Block]:
    """Any reply as an ephemeral message (errors, help, list, status, history)."""
    blocks: list[Block] = []
    if reply.error is not None:
        text = f":no_entry: *{reply.error.code.value}*: {escape(reply.error.message)}"
        if reply.error.usage:
            text += f"\n*Usage:* `{escape(reply.error.usage)}`"
        blocks.append(section(text))
        if reply.error.blockers:
            blocks.append(section("*Blocked by:*\n" + _checklist_text(reply.error.blockers)))
        return blocks
    said = wording.message(reply)
    if said:
        blocks.append(section(escape(said)))
    if reply.rollout is not None:
        blocks.extend(rollout_message(reply.rollout))
    if reply.rollouts is not None:
        blocks.append(section(rollouts_text(reply.rollouts)))
    if reply.history is not None:
        lines = [
            f"`{h.at}` {mention(h.actor)} *{h.action}*"
            + ("" if h.outcome == "ok" else f" {_not_ok(h.action)} ({h.outcome})")
            + (
                f": {escape(d)}"
                if (d := wording.history_detail(h.detail, h.happened, service=""))
                else ""
            )
            for h in reply.history
        ]
        blocks.extend(section(chunk) for chunk in chunks(lines))
    if reply.help is not None:
        blocks.append(
            section("\n".join(f"`{escape(h.usage)}` {escape(h.summary)}" for h in reply.help))
        )
    if reply.audit is not None:
        blocks.extend(section(chunk) for chunk in chunks(_audit_lines(reply.audit)))
    if reply.metrics is not None:
        table = metrics_text.text(reply.metrics.snapshot)
        blocks.append(section(f"```{cut(escape(table), MAX_TEXT - 6)}```"))
    return blocks[:MAX_BLOCKS] or [section("done")]


def reply_text(reply: Reply) -> str:
    """Notification text of a reply, escaped: Slack parses it for mentions like the blocks."""
    if reply.error is not None:
        return cut(escape(f"{reply.error.code.value}: {reply.error.message}"), MAX_FALLBACK)
    return cut(escape(wording.message(reply) or reply.command), MAX_FALLBACK)


def _audit_lines(report: AuditReport) -> list[str]:
    lines = []
    for s in report.services:
        allow_all = " (allow-all)" if s.authz.allow_all else ""
        lines.append(
            f"*{s.service}* · sidecar {s.sidecar.value} · mTLS {s.mtls.mode.value} · "
            f"authz default {s.authz.default.value}{allow_all} · {len(s.findings)} finding(s)"
        )
        lines.extend(
            f"      `{f.code}` {f.severity.value}: {escape(f.message)}" for f in s.findings
        )
    return lines


def rollouts_text(rollouts: Sequence[RolloutSummary]) -> str:
    if not rollouts:
        return "_No rollouts yet._ Start one with `/rollout start NS/NAME`."
    lines = []
    for r in rollouts:
        pending = f" · {r.pending_approvals} approval(s) pending" if r.pending_approvals else ""
        state = _STATE_LABEL.get(r.state, r.state)
        lines.append(f"*{r.service}* · `{r.phase}` · {state}{pending}")
    return "\n".join(lines)


def chunks(lines: Sequence[str]) -> list[str]:
    """Lines grouped into section-sized texts."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = cut(line, MAX_TEXT)
        if current and len(current) + 1 + len(line) > MAX_TEXT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def as_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks as JSON-ready dicts (validated against Block Kit's limits on the way)."""
    return [block.to_dict() for block in blocks]


def _not_ok(action: str) -> str:
    """How a history entry that did not go through is labelled."""
    return "failed" if action == "change" else "refused"
