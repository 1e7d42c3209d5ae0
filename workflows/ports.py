"""Ports: the small interfaces through which commands reach the world.

Adapters in `bot/` implement them (Redis, the Kubernetes API or a folder of manifests, Slack's
user groups); tests use the same adapters against real servers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from workflows.mesh import ClusterSnapshot
from workflows.rollout import Rollout, Transition
from workflows.trail import TrailEntry


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
        """The subset of `candidates` (group ids) that `user` is a member of."""
        ...


class StoreUnavailable(Exception):
    """The state store cannot be reached or answered wrongly; nothing was written."""


class StoreConflict(Exception):
    """A compare-and-set kept losing to concurrent writers; nothing was written."""


Step = Callable[[Rollout | None], Transition]
"""A pure step: the current rollout (or None) -> the transition to store. May raise Refused."""


class StateStore(Protocol):
    """Rollouts (one versioned document each), their audit trail, and the list of them."""

    def load(self, service: str) -> Rollout | None:
        """The stored rollout of `service`, or None."""
        ...

    def transact(
        self, service: str, step: Step, *, entry: Callable[[Transition], TrailEntry]
    ) -> Transition:
        """Read, run `step`, and write the result only if nobody wrote in between.

        Retries on a lost race by running `step` again on the newer document, so concurrent
        approvals give exactly one transition. The trail entry is written in the same
        transaction. Raises StoreUnavailable, StoreConflict, or what `step` raises.
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
