"""Ports: the small interfaces through which commands reach the world.

Adapters in `bot/` implement them (Redis, the Kubernetes API or a folder of manifests, Slack's
user groups); tests use the same adapters against real servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workflows.mesh import ClusterSnapshot


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
