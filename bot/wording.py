"""What replies say, in words: the sentences both surfaces (console and Slack) show.

Reply models carry facts (happenings, changes carried out, counts); this module turns them into
the one or two sentences a person reads, so the console, Slack threads, history lines and the
console's JSON `message` all say the same thing. Each surface adds its own layout and escaping.
"""

from __future__ import annotations

from commands.replies import AlertView, ChangeSummary, ClusterAction, ClusterChange, Reply
from workflows.gates.checklist import timestamp
from workflows.playbook import PhaseChange
from workflows.rollout.happenings import Happening, HappeningKind


def change_words(change: ChangeSummary | PhaseChange) -> str:
    """A phase's change in a few words: `peer-authentication STRICT`, `... dry-run`."""
    kind = change.kind if isinstance(change.kind, str) else change.kind.value
    parts = [kind]
    if change.mode:
        parts.append(change.mode)
    if change.dry_run:
        parts.append("dry-run")
    if change.deny_by_default:
        parts.append("deny-by-default")
    return " ".join(parts)


def happening(h: Happening, *, service: str, title: str = "") -> str:
    """One happening as a clause."""
    by = f"by {h.by}" if h.by else ""
    match h.kind:
        case HappeningKind.STARTED:
            who = f"{service} " if service else ""
            verb = "resumed" if h.reason == "resumed" else "started"
            return f"{verb} {who}at phase {h.phase}" + (f": {title}" if title else "")
        case HappeningKind.ADVANCE_REQUESTED:
            change = f" to apply {change_words(h.change)}" if h.change else ""
            return f"phase {h.phase} passed its gate and awaits {h.required} approval(s){change}"
        case HappeningKind.APPROVAL_RECORDED:
            return f"approval recorded {by} ({h.count}/{h.required})"
        case HappeningKind.VERIFYING:
            who = f"approved by {', '.join(h.approvers)}" if h.approvers else by
            until = timestamp(h.deadline) if h.deadline else "its deadline"
            change = f"its change ({change_words(h.change)}) is " if h.change else "it is "
            return f"phase {h.phase} passed ({who}); {change}being verified until {until}"
        case HappeningKind.PHASE_COMPLETED:
            if h.by == "meshgate":
                who = "verified"
            else:
                who = f"approved by {', '.join(h.approvers)}" if h.approvers else by
            moved = f"; now at phase {h.next_phase}" if h.next_phase else ""
            return f"phase {h.phase} completed ({who}){moved}"
        case HappeningKind.VERIFICATION_FAILED:
            why = f" ({h.reason})" if h.reason else ""
            then = (
                "held for a person: `rollback`, or fix it and `advance` again"
                if h.held
                else "its change is rolled back"
            )
            return (
                f"the verification of phase {h.phase} failed by its deadline: "
                f"{', '.join(h.items)}{why}; {then}"
            )
        case HappeningKind.ROLLOUT_COMPLETED:
            return f"{service or 'the rollout'} completed every phase"
        case HappeningKind.REQUEST_REJECTED:
            return f"request rejected {by}" + (f": {h.reason}" if h.reason else "")
        case HappeningKind.REQUEST_EXPIRED:
            deadline = timestamp(h.deadline) if h.deadline else "its deadline"
            return f"the request for phase {h.phase} expired: nobody decided before {deadline}"
        case HappeningKind.REQUEST_WITHDRAWN:
            return f"the request for phase {h.phase} was withdrawn ({h.withdrawn_by} {by})"
        case HappeningKind.ATTESTED:
            return f"attested {h.item} {by}" + (f": {h.reason}" if h.reason else "")
        case HappeningKind.ROLLED_BACK:
            if h.from_phase == h.phase:
                return f"rolled back {by}: back to {h.phase}, to be done again"
            return f"rolled back {by}: from {h.from_phase} back to {h.phase}"
        case HappeningKind.CHANGE_FAILED:
            return f"the change of phase {h.phase} failed: {h.reason}"
        case HappeningKind.ABORTED:
            return f"aborted {by}" + (f": {h.reason}" if h.reason else "")


def happenings(items: list[Happening], *, service: str, title: str = "") -> str:
    """Several happenings as one sentence."""
    return "; ".join(happening(h, service=service, title=title) for h in items)


def cluster_change(change: ClusterChange) -> str:
    """What meshgate did (or did not do) to the cluster."""
    match change.action:
        case ClusterAction.APPLIED:
            return "applied " + ", ".join(change.objects)
        case ClusterAction.REVERTED:
            return "reverted: " + "; ".join(change.objects)
        case ClusterAction.NOT_APPLIED:
            return f"its change, {change.kind}, was NOT applied: the cluster is read-only"
        case ClusterAction.NOT_REVERTED:
            return f"its change, {change.kind}, was NOT reverted: the cluster is read-only"


def message(reply: Reply) -> str | None:
    """The sentence that sums up a successful reply, or None when the rest says it all."""
    parts: list[str] = []
    if reply.happened and reply.rollout is not None:
        title = reply.rollout.phase_title if reply.command == "start" else ""
        parts.append(happenings(reply.happened, service=reply.rollout.service, title=title))
    parts.extend(cluster_change(c) for c in reply.changes or ())
    parts.extend(f"warning: {w}" for w in reply.warnings or ())
    if reply.rollouts is not None:
        count = len(reply.rollouts)
        parts.append(f"{count} rollout(s)" if count else "no rollouts yet; `start NS/NAME`")
    if reply.history is not None:
        parts.append(f"{len(reply.history)} entries")
    if reply.help is not None:
        parts.append("meshgate commands")
    if reply.alert is not None:
        parts.append(alert_done(reply.command, reply.alert))
    if reply.plan is not None:
        if reply.plan.change is None:
            parts.append(f"phase {reply.plan.phase} changes nothing in the cluster")
        else:
            parts.append(
                f"phase {reply.plan.phase}: {change_words(reply.plan.change)} as YAML to commit "
                f"({', '.join(reply.plan.objects)})"
            )
    if reply.audit is not None:
        report = reply.audit
        errors = sum(1 for s in report.services for f in s.findings if f.severity.value == "error")
        parts.append(f"audited {len(report.services)} service(s): {errors} error finding(s)")
    return "; ".join(parts) or None


def history_detail(line_detail: str, happened: list[Happening] | None, *, service: str) -> str:
    """A history line's text: its happenings in words, else its stored detail."""
    if happened:
        return happenings(happened, service=service)
    return line_detail


_KIND_WORDS = {
    "mtls_weakened": "mTLS weakened",
    "sidecar_missing": "sidecar missing",
    "default_deny_removed": "default deny removed",
    "allow_broadened": "access broadened",
    "policy_unenforced": "policy no longer enforced",
    "plaintext_traffic": "plaintext traffic",
    "watch_blind": "watch is blind",
}


def duration(seconds: int) -> str:
    """`42m`, `1h 5m`, `2d 3h`: how long something lasted, to the minute (seconds if shorter)."""
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p)


def alert_headline(alert: AlertView) -> str:
    """What the alert is about, in one line: kinds, how many services, the cause."""
    if "watch_blind" in alert.kinds:
        return f"meshgate watch is blind: {alert.detail or 'cluster reads fail'}"
    kinds = ", ".join(_KIND_WORDS.get(k, k) for k in alert.kinds)
    count = len(alert.services)
    services = alert.services[0] if count == 1 else f"{count} services"
    return f"{kinds} on {services}, caused by {alert.cause}"


def alert_status(alert: AlertView) -> str:
    """Where the alert stands: open since, acknowledged, snoozed, escalated, or resolved."""
    if alert.status == "resolved":
        lasted = f" after {duration(alert.lasted_s)}" if alert.lasted_s is not None else ""
        return f"resolved at {alert.resolved_at}{lasted}"
    parts = [f"open since {alert.opened_at}"]
    if alert.acked_by:
        parts.append(f"acknowledged by {alert.acked_by} at {alert.acked_at}")
    if alert.snoozed_until:
        parts.append(f"snoozed by {alert.snoozed_by} until {alert.snoozed_until}")
    if alert.escalated_at:
        parts.append(f"escalated at {alert.escalated_at}")
    return "; ".join(parts)


def alert_done(verb: str, alert: AlertView) -> str:
    """What `ack` or `snooze` did."""
    if verb == "snooze":
        return f"alert {alert.id} snoozed by {alert.snoozed_by} until {alert.snoozed_until}"
    return f"alert {alert.id} acknowledged by {alert.acked_by} at {alert.acked_at}"
