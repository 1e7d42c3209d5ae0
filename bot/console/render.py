"""Terminal text for reply models: what `meshgate console` and `meshgate demo` print.

The one place the console's wording lives; JSON output bypasses it (Reply.to_json).
"""

from __future__ import annotations

from bot.console import audit_render
from commands.replies import Reply, RolloutView
from workflows.gates.checklist import ChecklistLine

_MARKS = {
    "pass": "PASS",
    "fail": "FAIL",
    "unknown": "????",
    "pending": "TODO",
    "attested": "SIGN",
}


def render(reply: Reply) -> str:
    """A reply as a few lines of plain text."""
    out: list[str] = []
    if reply.error is not None:
        out.append(f"error [{reply.error.code.value}]: {reply.error.message}")
        if reply.error.blockers:
            out.append("blocked by:")
            out.extend(_line(b) for b in reply.error.blockers)
        if reply.error.usage:
            out.append(f"usage: {reply.error.usage}")
        return "\n".join(out)
    if reply.message:
        out.append(reply.message)
    if reply.rollout is not None:
        out.extend(_rollout(reply.rollout))
    if reply.rollouts is not None:
        for r in reply.rollouts:
            pending = f", {r.pending_approvals} approval(s) pending" if r.pending_approvals else ""
            out.append(f"  {r.service:<32} {r.phase:<14} {r.state}{pending}")
    if reply.history is not None:
        for h in reply.history:
            outcome = "" if h.outcome == "ok" else f" REFUSED ({h.outcome})"
            out.append(f"  {h.at}  {h.actor:<12} {h.action:<9}{outcome}  {h.detail}")
    if reply.help is not None:
        out.extend(f"  {h.usage:<30} {h.summary}" for h in reply.help)
    if reply.audit is not None:
        out.append(audit_render.text(reply.audit, source="the cluster").rstrip())
    return "\n".join(out)


def _rollout(view: RolloutView) -> list[str]:
    lines = [
        f"{view.service}: phase {view.phase_index + 1}/{view.phases} {view.phase} "
        f"({view.phase_title}), {view.state}",
    ]
    if view.request is not None:
        votes = ", ".join(a.by for a in view.approvals) or "none yet"
        lines.append(
            f"  awaiting {view.request.required} approval(s), requested by "
            f"{view.request.requested_by}, expires {view.request.expires_at}; approved by: {votes}"
        )
    lines.extend(_line(item) for item in view.checklist)
    return lines


def _line(item: ChecklistLine) -> str:
    optional = "" if item.required else " (optional)"
    text = f"  [{_MARKS.get(item.status, item.status)}] {item.id}{optional}: {item.title}"
    if item.reason:
        text += f"\n         {item.reason}"
    if item.fix and item.status in ("fail", "unknown", "pending"):
        text += f"\n         fix: {item.fix}"
    return text
