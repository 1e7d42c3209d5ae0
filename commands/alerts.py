"""`ack ALERT` and `snooze ALERT DURATION`: what a person does to an alert (buttons do the same).

Each is one compare-and-set of the alert's document (a sweep writing it at the same moment
makes this one read and decide again). The reply carries the alert as it now stands; the Slack
front end updates the alert's message from it.
"""

from __future__ import annotations

from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Ack, Snooze
from commands.replies import AlertView, Reply
from workflows.errors import ErrorCode
from workflows.gates.checklist import timestamp
from workflows.ports import StoreConflict
from workflows.watch import alerts
from workflows.watch.alerts import Alert, AlertRefused

# A person's ack races a sweep at most; ten rounds is far more than that needs.
_MAX_ROUNDS = 10


def handle(command: Ack | Snooze, *, actor: str, ctx: Context) -> Reply:
    """Acknowledge or snooze the alert; refuse with what is wrong and what to do."""
    watch = ctx.watch
    if watch is None:
        raise CommandError(
            ErrorCode.UNAVAILABLE, "this meshgate runs without the regression watch's state"
        )
    for _ in range(_MAX_ROUNDS):
        stored = watch.alert(command.alert)
        if stored is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no alert {command.alert}: check the id on the alert's message "
                "(resolved alerts are kept for a week)",
            )
        now = ctx.clock()
        try:
            if isinstance(command, Ack):
                changed = alerts.ack(stored, by=actor, now=now)
            else:
                changed = alerts.snooze(stored, by=actor, duration=command.duration, now=now)
        except AlertRefused as e:
            raise CommandError(e.code, e.message) from e
        written = watch.put_alert(changed, expected_version=stored.version)
        if written is not None:
            return Reply(command=command.verb, ok=True, alert=view(written))
    raise StoreConflict(f"alert {command.alert} changed {_MAX_ROUNDS} times while this ran")


def view(alert: Alert) -> AlertView:
    """The alert as replies carry it."""
    lasted = alert.lasted()
    return AlertView(
        id=alert.id,
        cause=alert.cause,
        kinds=list(alert.kinds),
        services=list(alert.services),
        status=alert.status.value,
        opened_at=timestamp(alert.opened_at),
        resolved_at=timestamp(alert.resolved_at) if alert.resolved_at else None,
        lasted_s=int(lasted.total_seconds()) if lasted is not None else None,
        detail=alert.detail or None,
        acked_by=alert.acked_by or None,
        acked_at=timestamp(alert.acked_at) if alert.acked_at else None,
        snoozed_by=alert.snoozed_by or None,
        snoozed_until=timestamp(alert.snoozed_until) if alert.snoozed_until else None,
        escalated_at=timestamp(alert.escalated_at) if alert.escalated_at else None,
    )


def open_views(ctx: Context) -> list[AlertView] | None:
    """Every open alert, oldest first; None without the watch (App Home says so)."""
    if ctx.watch is None:
        return None
    return [view(a) for a in sorted(ctx.watch.open_alerts(), key=lambda a: a.opened_at)]
