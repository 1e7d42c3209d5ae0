"""One sweep's decision: regressions and read health in, alert changes and report lines out.

    decide(reading, open alerts, read health, now, policy)
      -> alerts to write (opened, updated, escalated, resolved), the lines `meshgate watch`
         prints ({cause, kinds, services, state}), and the read health to keep

Rules (issue 11):
- one alert per cause; an open alert for a cause is updated in place, never opened again;
- an alert resolves only on a sweep that read every kind: a service is never reported healthy
  from data that could not be read; while reads fail, open alerts stay open and keep every
  service they listed;
- after `blind_after` failed reads in a row, one blind-watch alert names what fails; the first
  full read resolves it;
- an open alert left unacknowledged for `escalate_after` (counted from the end of its last
  snooze) is escalated once.

Pure: the runner (commands.watching) reads, writes and notifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.audit.report import Regression
from workflows.watch.alerts import BLIND_CAUSE, BLIND_KIND, Alert, AlertStatus, alert_id, group

# Three missed sweeps (3 minutes at the default interval) before the watch calls itself blind:
# one failed LIST is common during an API server restart; three in a row is an outage.
DEFAULT_BLIND_AFTER = 3
DEFAULT_ESCALATE_AFTER = timedelta(minutes=30)


class LineState(StrEnum):
    """What a sweep did with an alert (DESIGN.md, `meshgate watch --format json`)."""

    NEW = "new"  # opened by this sweep
    OPEN = "open"  # was open and still is
    RESOLVED = "resolved"  # resolved by this sweep


@dataclass(frozen=True)
class Policy:
    """How the watch escalates and when it calls itself blind."""

    blind_after: int = DEFAULT_BLIND_AFTER
    escalate_after: timedelta | None = DEFAULT_ESCALATE_AFTER  # None: never escalate


class ReadHealth(BaseModel):
    """Consecutive sweeps that could not read everything, since when, and why."""

    model_config = ConfigDict(frozen=True)

    failures: int = 0
    since: datetime | None = None
    problem: str = ""


@dataclass(frozen=True)
class Reading:
    """What a sweep read: the regressions against the baselines, and what could not be read."""

    regressions: Sequence[Regression]
    watched: Sequence[str]
    problem: str = ""  # "" when every kind was read


@dataclass(frozen=True)
class Line:
    """One alert as `meshgate watch` prints it."""

    alert: Alert
    state: LineState

    def to_data(self) -> dict[str, object]:
        """DESIGN.md's line: cause, kinds, services, state (and the alert id to ack it)."""
        return {
            "cause": self.alert.cause,
            "kinds": list(self.alert.kinds),
            "services": list(self.alert.services),
            "state": self.state.value,
            "id": self.alert.id,
        }


@dataclass(frozen=True)
class Outcome:
    """What a sweep decided."""

    changed: tuple[Alert, ...]
    lines: tuple[Line, ...]
    health: ReadHealth
    escalated: tuple[str, ...] = field(default=())  # ids escalated by this sweep


def decide(
    *,
    reading: Reading,
    alerts: Sequence[Alert],
    health: ReadHealth,
    now: datetime,
    policy: Policy,
) -> Outcome:
    """The sweep's changes to `alerts` (the open ones) for what it read."""
    by_cause = {a.cause: a for a in alerts if a.open}
    full_read = not reading.problem
    changed: dict[str, Alert] = {}
    lines: list[Line] = []
    for cause, found in sorted(group(list(reading.regressions)).items()):
        existing = by_cause.pop(cause, None)
        if existing is None:
            alert = _opened(cause, found, now=now)
            changed[alert.id] = alert
            lines.append(Line(alert, LineState.NEW))
            continue
        updated = _updated(existing, found, keep_services=not full_read)
        if updated is not existing:
            changed[updated.id] = updated
        lines.append(Line(updated, LineState.OPEN))
    blind = by_cause.pop(BLIND_CAUSE, None)
    for alert in by_cause.values():  # open alerts whose cause found nothing this time
        if full_read:
            resolved = alert.shown(status=AlertStatus.RESOLVED, resolved_at=now)
            changed[alert.id] = resolved
            lines.append(Line(resolved, LineState.RESOLVED))
        else:
            lines.append(Line(alert, LineState.OPEN))
    new_health, blind_line = _blindness(reading, blind, health, now=now, policy=policy)
    if blind_line is not None:
        if blind_line.state is not LineState.OPEN or blind_line.alert is not blind:
            changed[blind_line.alert.id] = blind_line.alert
        lines.append(blind_line)
    escalated = []
    for n, line in enumerate(lines):
        due = _escalation(line.alert, now=now, policy=policy)
        if due is not None:
            changed[due.id] = due
            lines[n] = Line(due, line.state)
            escalated.append(due.id)
    return Outcome(
        changed=tuple(changed.values()),
        lines=tuple(lines),
        health=new_health,
        escalated=tuple(escalated),
    )


def _opened(cause: str, found: list[Regression], *, now: datetime) -> Alert:
    return Alert(
        id=alert_id(cause, now),
        cause=cause,
        kinds=tuple(sorted({r.kind.value for r in found})),
        services=tuple(sorted({r.service for r in found})),
        regressions=tuple(found),
        opened_at=now,
    )


def _updated(alert: Alert, found: list[Regression], *, keep_services: bool) -> Alert:
    """The alert with what its cause explains now (a partial read never drops a service)."""
    kinds = {r.kind.value for r in found}
    services = {r.service for r in found}
    regressions = list(found)
    if keep_services:
        kinds |= set(alert.kinds)
        services |= set(alert.services)
        seen = {(r.kind, r.service, r.port) for r in found}
        regressions += [r for r in alert.regressions if (r.kind, r.service, r.port) not in seen]
    new_kinds, new_services = tuple(sorted(kinds)), tuple(sorted(services))
    if new_kinds == alert.kinds and new_services == alert.services:
        if tuple(regressions) == alert.regressions:
            return alert
        return alert.model_copy(update={"regressions": tuple(regressions)})  # same message
    return alert.shown(kinds=new_kinds, services=new_services, regressions=tuple(regressions))


def _blindness(
    reading: Reading, blind: Alert | None, health: ReadHealth, *, now: datetime, policy: Policy
) -> tuple[ReadHealth, Line | None]:
    """The read health after this sweep, and the blind-watch alert's line (if any)."""
    if not reading.problem:
        if blind is None:
            return ReadHealth(), None
        resolved = blind.shown(status=AlertStatus.RESOLVED, resolved_at=now)
        return ReadHealth(), Line(resolved, LineState.RESOLVED)
    failing = ReadHealth(
        failures=health.failures + 1, since=health.since or now, problem=reading.problem
    )
    if blind is not None:
        if blind.detail == reading.problem:
            return failing, Line(blind, LineState.OPEN)
        return failing, Line(blind.shown(detail=reading.problem), LineState.OPEN)
    if failing.failures < policy.blind_after:
        return failing, None
    alert = Alert(
        id=alert_id(BLIND_CAUSE, now),
        cause=BLIND_CAUSE,
        kinds=(BLIND_KIND,),
        services=tuple(sorted(reading.watched)),
        detail=reading.problem,
        opened_at=failing.since or now,
    )
    return failing, Line(alert, LineState.NEW)


def _escalation(alert: Alert, *, now: datetime, policy: Policy) -> Alert | None:
    """The alert escalated now, if it is due (open, unacknowledged, unsnoozed, old enough)."""
    if policy.escalate_after is None or not alert.open or alert.acked_by:
        return None
    if alert.escalated_at is not None or alert.snoozed(now):
        return None
    start = max(alert.opened_at, alert.snoozed_until or alert.opened_at)
    if now - start < policy.escalate_after:
        return None
    return alert.shown(escalated_at=now)


def rebase(decided: Alert, *, onto: Alert) -> Alert:
    """The sweep's decision about an alert, on the document a person changed meanwhile.

    The sweep owns what it read (kinds, services, status, escalation); people own ack and
    snooze. An ack that came first also cancels an escalation the sweep had decided.
    """
    escalated_at = onto.escalated_at or (None if onto.acked_by else decided.escalated_at)
    return decided.model_copy(
        update={
            "acked_by": onto.acked_by,
            "acked_at": onto.acked_at,
            "snoozed_by": onto.snoozed_by,
            "snoozed_until": onto.snoozed_until,
            "escalated_at": escalated_at,
            "revision": max(decided.revision, onto.revision) + 1,
            "version": onto.version,
        }
    )
