"""Alerts: one per cause of regressions, with what people did to it (acknowledge, snooze).

An alert is one JSON document in the state store, written by compare-and-set like a rollout.
It is opened by a sweep for a cause no open alert covers, kept (its services and kinds
updated in place) while the cause still explains a regression, and resolved by the first
sweep that read everything and found the cause gone. `ack` and `snooze` are the two things a
person can do; both are pure functions of the alert and return the new one, or raise
AlertRefused with the code the person sees. Pure: no I/O, no clock (callers pass `now`).

`revision` counts the changes the alert's message shows (opened, services changed, acked,
snoozed, escalated, resolved); a notifier that showed revision N and sees N+1 updates the
message in place. `version` is the compare-and-set counter of the document.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.audit.report import Regression
from workflows.errors import ErrorCode, WorkflowError

BLIND_KIND = "watch_blind"
"""The kind of the alert a sweep opens when it could not read the cluster N times in a row."""

BLIND_CAUSE = "meshgate watch: cluster reads failing"
"""The one cause of the blind-watch alert (what fails is in the alert's `detail`)."""


class AlertStatus(StrEnum):
    """Where an alert stands in the store."""

    OPEN = "open"  # its cause still explains a regression (or reads still fail)
    RESOLVED = "resolved"  # a full read found the cause gone; the message says how long it lasted


class AlertRefused(WorkflowError):
    """An ack or snooze that cannot be done; `code` and `message` are for the person."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Alert(BaseModel):
    """One alert: a cause, the regressions it explains, and what people did about it."""

    model_config = ConfigDict(frozen=True)

    id: str
    cause: str
    kinds: tuple[str, ...]
    services: tuple[str, ...]
    regressions: tuple[Regression, ...] = ()
    detail: str = ""  # the blind-watch alert: what could not be read, and why
    status: AlertStatus = AlertStatus.OPEN
    opened_at: datetime
    resolved_at: datetime | None = None
    acked_by: str = ""
    acked_at: datetime | None = None
    snoozed_by: str = ""
    snoozed_until: datetime | None = None
    escalated_at: datetime | None = None
    revision: int = 1
    version: int = 0

    @property
    def open(self) -> bool:
        """True while the alert has not resolved."""
        return self.status is AlertStatus.OPEN

    @property
    def blind(self) -> bool:
        """True for the blind-watch alert."""
        return BLIND_KIND in self.kinds

    def lasted(self) -> timedelta | None:
        """How long a resolved alert was open."""
        return None if self.resolved_at is None else self.resolved_at - self.opened_at

    def snoozed(self, now: datetime) -> bool:
        """True while a snooze is in force."""
        return self.snoozed_until is not None and now < self.snoozed_until

    def shown(self, **changes: object) -> Alert:
        """A copy with `changes` and the next revision (its message must show them)."""
        return self.model_copy(update={**changes, "revision": self.revision + 1})


def alert_id(cause: str, opened_at: datetime) -> str:
    """A short id people can type (`ack 3f9c2a1b`): the same cause reopened gets a new one."""
    digest = hashlib.sha256(f"{cause}|{opened_at.isoformat()}".encode()).hexdigest()
    return digest[:8]


def ack(alert: Alert, *, by: str, now: datetime) -> Alert:
    """`alert` acknowledged by `by`: shown on its message, and never escalated after."""
    if not alert.open:
        raise AlertRefused(ErrorCode.CONFLICT, f"alert {alert.id} is already resolved")
    if alert.acked_by:
        raise AlertRefused(
            ErrorCode.ALREADY_DECIDED,
            f"alert {alert.id} was acknowledged by {alert.acked_by} at {_at(alert.acked_at)}",
        )
    return alert.shown(acked_by=by, acked_at=now)


def snooze(alert: Alert, *, by: str, duration: timedelta, now: datetime) -> Alert:
    """`alert` snoozed for `duration`: no escalation until then (a later snooze replaces it)."""
    if not alert.open:
        raise AlertRefused(ErrorCode.CONFLICT, f"alert {alert.id} is already resolved")
    if duration <= timedelta(0):
        raise AlertRefused(ErrorCode.USAGE, "snooze for a positive duration, e.g. 1h")
    return alert.shown(snoozed_by=by, snoozed_until=now + duration)


def group(regressions: list[Regression]) -> dict[str, list[Regression]]:
    """Regressions by cause: one mesh-wide change is one entry, however many services."""
    grouped: dict[str, list[Regression]] = {}
    for regression in regressions:
        grouped.setdefault(regression.cause, []).append(regression)
    return grouped


def _at(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
