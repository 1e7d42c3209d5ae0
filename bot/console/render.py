"""Terminal text for reply models: what `meshgate console` and `meshgate demo` print.

The one place the console's layout lives; sentences come from bot.wording, shared with Slack.
`as_json` is what `--format json` prints: the reply's facts plus that sentence as `message`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bot import wording
from bot.console import audit_render
from bot.metrics import charts
from bot.metrics import text as metrics_text
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
    said = wording.message(reply)
    if said:
        out.append(said)
    if reply.rollout is not None:
        out.extend(_rollout(reply.rollout))
    if reply.rollouts is not None:
        for r in reply.rollouts:
            pending = f", {r.pending_approvals} approval(s) pending" if r.pending_approvals else ""
            out.append(f"  {r.service:<32} {r.phase:<14} {r.state}{pending}")
    if reply.history is not None:
        for h in reply.history:
            outcome = "" if h.outcome == "ok" else _not_ok(h.action, h.outcome)
            detail = wording.history_detail(h.detail, h.happened, service="")
            out.append(f"  {h.at}  {h.actor:<12} {h.action:<9}{outcome}  {detail}")
    if reply.help is not None:
        out.extend(f"  {h.usage:<30} {h.summary}" for h in reply.help)
    if reply.audit is not None:
        out.append(audit_render.text(reply.audit, source="the cluster").rstrip())
    if reply.metrics is not None:
        out.append(metrics_text.text(reply.metrics.snapshot))
    if reply.plan is not None and reply.plan.manifest:
        out.append(reply.plan.manifest.rstrip())
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
        if view.request.manifest:
            lines.append("  the change, as YAML to commit (meshgate does not write here):")
            lines.extend(f"    {line}" for line in view.request.manifest.rstrip().splitlines())
    lines.extend(_line(item) for item in view.checklist)
    return lines


def _line(item: ChecklistLine) -> str:
    optional = "" if item.required else " (optional)"
    text = f"  [{_MARKS.get(item.status, item.status)}] {item.id}{optional}: {item.title}"
    if item.reason:
        text += f"\n         {item.reason}"
    if item.actionable:
        text += f"\n         fix: {item.fix}"
    return text


def as_json(reply: Reply, *, chart: Path | None = None) -> str:
    """One line of Reply JSON, leaving out what this reply does not carry.

    `metrics` is the Metrics JSON of DESIGN.md (the chart's series stay out: the chart is a
    file, whose path is `chart`).
    """
    data = reply.model_dump(mode="json", exclude_none=True, by_alias=True)
    said = wording.message(reply)
    if said and reply.ok:
        data["message"] = said
    if reply.metrics is not None:
        data["metrics"] = reply.metrics.snapshot.to_json()
    if chart is not None:
        data["chart"] = str(chart)
    return json.dumps(data, separators=(",", ":"))


def write_chart(reply: Reply, *, folder: Path) -> Path | None:
    """Draw a metrics reply's chart as a PNG in `folder`; its path (None: nothing to draw)."""
    if reply.metrics is None or reply.metrics.history is None:
        return None
    marks = [
        charts.PhaseMark(at=datetime.fromisoformat(m.at.replace("Z", "+00:00")), label=m.phase)
        for m in reply.metrics.marks
    ]
    folder.mkdir(parents=True, exist_ok=True)
    service = reply.metrics.snapshot.service.replace("/", "-")
    stamp = reply.metrics.snapshot.at.strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{service}-{stamp}.png"
    path.write_bytes(charts.png(reply.metrics.history, marks=marks))
    return path


def _not_ok(action: str, outcome: str) -> str:
    """A history entry that did not go through: meshgate's failed change, or a refusal."""
    return f" FAILED ({outcome})" if action == "change" else f" REFUSED ({outcome})"
