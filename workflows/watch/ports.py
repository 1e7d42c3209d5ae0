"""The watch's ports: where baselines and alerts are kept, and who shows alerts to people.

Adapters in `bot/` implement them (Redis: bot.state.watch; Slack: bot.slack.alerting); the
sweep runner (commands.watching) and the ack/snooze handlers talk to the world only through
these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from workflows.watch.alerts import Alert
from workflows.watch.baselines import Baseline
from workflows.watch.sweeping import ReadHealth


class WatchStore(Protocol):
    """Baselines, alerts (compare-and-set documents), read health and the sweep lease."""

    def save_baseline(self, baseline: Baseline) -> None:
        """Store (or replace) a service's baseline."""
        ...

    def clear_baseline(self, service: str) -> None:
        """Forget a service's baseline (the watch stops holding it to one)."""
        ...

    def baselines(self) -> list[Baseline]:
        """Every stored baseline, by service."""
        ...

    def open_alerts(self) -> list[Alert]:
        """Every open alert."""
        ...

    def alert(self, alert_id: str) -> Alert | None:
        """One alert (open, or resolved within the last week), or None."""
        ...

    def put_alert(self, alert: Alert, *, expected_version: int | None) -> Alert | None:
        """Store `alert` if the stored version is `expected_version` (None: a new alert).

        Returns the stored alert (its version moved on), or None when someone wrote in between:
        nothing was written; read again and rebase.
        """
        ...

    def undelivered(self) -> list[tuple[Alert, int]]:
        """Alerts whose latest revision was not shown yet, with the revision that was."""
        ...

    def mark_delivered(self, alert: Alert) -> None:
        """Record that `alert.revision` was shown."""
        ...

    def health(self) -> ReadHealth:
        """How the last sweeps read the cluster."""
        ...

    def put_health(self, health: ReadHealth) -> None:
        """Keep the read health for the next sweep."""
        ...

    def claim_tick(self, tick: int) -> bool:
        """True for the one replica that runs the sweep of this aligned tick."""
        ...

    def lease(self, *, holder: str, now: datetime, until: datetime) -> bool:
        """Hold the sweep lease until `until` if nobody holds it past `now` (a sweep at a time).

        A replica that died mid-sweep holds it only until its lease runs out.
        """
        ...

    def release(self, *, holder: str) -> None:
        """Give the lease up (a sweep that finished)."""
        ...


class AlertNotifier(Protocol):
    """Shows alerts to people (the alert channel, the affected rollouts' threads)."""

    def show(self, alert: Alert, *, shown_revision: int) -> bool:
        """Post or update what `alert` says; True when people now see its latest revision."""
        ...
