"""A ClusterReader that shares one snapshot for a moment: bursts of commands read once.

Twenty people typing `/rollout status` in the same second would make twenty reads of the whole
cluster (a LIST per kind each). This wrapper keeps the last snapshot for `ttl_s` seconds and
makes concurrent callers wait for one read instead of each starting their own. Writes through
meshgate (KubeChanges) invalidate it, so a status right after a change sees the change.
A snapshot with read errors is not kept: the next caller tries again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from workflows.mesh.snapshot import ClusterSnapshot
from workflows.ports import ClusterReader

# Long enough to absorb a burst of commands, short enough that nobody acts on an old cluster.
DEFAULT_TTL_S = 2.0


class CachedClusterReader:
    """Wraps a ClusterReader with a short-lived, shared snapshot."""

    def __init__(
        self,
        reader: ClusterReader,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._kept: tuple[float, ClusterSnapshot] | None = None

    def snapshot(self) -> ClusterSnapshot:
        """The kept snapshot if it is fresh, else a new read (one at a time)."""
        with self._lock:
            now = self._monotonic()
            if self._kept is not None and now - self._kept[0] < self._ttl_s:
                return self._kept[1]
            snapshot = self._reader.snapshot()
            self._kept = None if snapshot.errors else (now, snapshot)
            return snapshot

    def invalidate(self) -> None:
        """Forget the kept snapshot (after meshgate changed the cluster)."""
        with self._lock:
            self._kept = None
