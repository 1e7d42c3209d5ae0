"""Ports: the small interfaces through which commands reach the world.

Adapters in `bot/` implement them (Redis, the Kubernetes API or a folder of manifests, Slack's
user groups, Prometheus); tests use the same adapters against real servers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from workflows.changes.actions import PlannedObject
from workflows.errors import PortError
from workflows.gates.metrics_snapshot import CustomAnswer, MetricsHistory, MetricsSnapshot, Target
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.rollout.state import Rollout
from workflows.rollout.trail import TrailEntry


class ClusterReader(Protocol):
    """Reads the cluster into a snapshot: one LIST per kind, never one request per service.

    Never raises for a kind it cannot read: the snapshot's `errors` say which and why, so every
    verdict that needs that kind is `unknown`.
    """

    def snapshot(self) -> ClusterSnapshot:
        """Read every kind meshgate reasons about."""
        ...


class Directory(Protocol):
    """Answers which approver groups (e.g. Slack user groups) a user belongs to."""

    def groups_of(self, user: str, *, candidates: Sequence[str]) -> frozenset[str]:
        """The subset of `candidates` (group ids) that `user` is a member of.

        Raises DirectoryUnavailable when a group's members cannot be read.
        """
        ...


class DirectoryUnavailable(PortError):
    """Group membership could not be read; nobody is admitted or refused on a guess."""


class StoreUnavailable(PortError):
    """The state store cannot be reached or answered wrongly; nothing was written."""


class StoreConflict(PortError):
    """A compare-and-set kept losing to concurrent writers; nothing was written."""


class StateStore(Protocol):
    """Rollouts (one versioned document each), their audit trail, and the list of them."""

    def load(self, service: str) -> Rollout | None:
        """The stored rollout of `service`, or None."""
        ...

    def commit(
        self,
        rollout: Rollout,
        *,
        expected_version: int | None,
        entries: Sequence[TrailEntry],
    ) -> bool:
        """Store `rollout` and its trail entries atomically if nobody wrote since it was read.

        `expected_version` is the version the decision was made on (None: no document yet).
        False when the stored version moved on: nothing was written; decide again.
        """
        ...

    def record(self, service: str, entry: TrailEntry) -> None:
        """Append an entry on its own (a refusal, which changes no state)."""
        ...

    def history(self, service: str, *, limit: int) -> list[TrailEntry]:
        """The newest `limit` entries, oldest first."""
        ...

    def rollouts(self) -> list[Rollout]:
        """Every stored rollout, by service name."""
        ...

    def save_change(
        self, service: str, phase: str, records: list[dict[str, Any]], *, entry: TrailEntry | None
    ) -> None:
        """Keep what a phase's change replaces (for rollback), with its trail entry if any."""
        ...

    def change_of(self, service: str, phase: str) -> list[dict[str, Any]] | None:
        """The records saved for a phase's change, or None."""
        ...

    def forget_change(self, service: str, phase: str) -> None:
        """Drop a phase's change records once it was rolled back."""
        ...

    def save_before(
        self, service: str, phase: str, snapshot: MetricsSnapshot, *, compare_at: datetime
    ) -> None:
        """Keep the numbers from just before a phase's change, and when to compare them."""
        ...

    def before_of(self, service: str, phase: str) -> MetricsSnapshot | None:
        """The numbers kept from just before the phase's change, or None."""
        ...

    def due_comparisons(self, *, now: datetime) -> list[tuple[str, str]]:
        """(service, phase) whose before/after comparison is due at `now`."""
        ...

    def compared(self, service: str, phase: str) -> bool:
        """Mark a comparison done; False when another replica already did it."""
        ...


class ChangeFailed(PortError):
    """The cluster refused or did not confirm a change; the message says which object and why."""


class ChangeUnconfirmed(ChangeFailed):
    """An apply was sent and not answered in time: the cluster may have stored it, or not.

    Nothing was undone (undoing the rest while the unanswered write may still land would leave
    half a change); what the objects were before is kept, so a rollback can restore them.
    """


ChangeRecord = dict[str, Any]
"""What a writer needs to undo one applied object (JSON-ready, kept in the state store)."""


class ClusterWriter(Protocol):
    """Applies a phase's planned objects: server-side dry run, apply, rollback."""

    def preview(self, planned: Sequence[PlannedObject]) -> str:
        """A diff of what applying would change, from a server-side dry run; stores nothing."""
        ...

    def current(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """Records `rollback` can restore the objects from, as they are now (read before apply).

        Kept before applying, so a change cut off mid-way (a replica killed, an answer lost)
        can still be rolled back.
        """
        ...

    def apply(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """Apply in order (field manager `meshgate`); all or nothing; records for rollback.

        Raises ChangeFailed when nothing stayed applied, ChangeUnconfirmed when a write went
        unanswered (its outcome is unknown).
        """
        ...

    def rollback(self, records: Sequence[ChangeRecord]) -> list[str]:
        """Restore what `apply` replaced, newest first; one line per object."""
        ...


class MetricsSource(Protocol):
    """Reads Istio metrics for services, in a fixed number of queries per batch.

    No method raises because Prometheus is down, slow or answering errors: such trouble comes
    back as data (`MetricsSnapshot.unavailable`, a `str` answer, `MetricsHistory.unavailable`),
    so every gate that needs the value says `unknown` with the reason.
    """

    def snapshots(
        self, *, targets: Sequence[Target], at: datetime, window: timedelta
    ) -> dict[ServiceRef, MetricsSnapshot]:
        """One snapshot per target at `at` over `window`; trouble is in `unavailable`."""
        ...

    def custom_values(self, *, queries: Mapping[str, str], at: datetime) -> dict[str, CustomAnswer]:
        """The single value of each rendered PromQL query (keyed as given) at `at`."""
        ...

    def history(
        self, *, target: Target, start: datetime, end: datetime, step: timedelta, window: timedelta
    ) -> MetricsHistory:
        """Request rate, success rate, p99 and mTLS share of one service from start to end."""
        ...
