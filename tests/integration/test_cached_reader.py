"""The shared snapshot: a burst of commands reads the cluster once; a change forgets it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bot.kube.cached import CachedClusterReader
from bot.kube.changes import KubeChanges
from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from tests.support import kube_fixtures
from tests.support.clusters import one_service_cluster
from workflows.changes import actions
from workflows.mesh.snapshot import Kind
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

PODS = "/api/v1/pods"


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_reads_once_and_a_later_command_reads_again(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(one_service_cluster())
    ticker = Ticker()
    with LiveClusterReader.for_host(api.url) as live:
        cached = CachedClusterReader(live, ttl_s=2.0, monotonic=ticker)
        snapshots = []
        threads = [threading.Thread(target=lambda: snapshots.append(cached.snapshot()))
                   for _ in range(20)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert api.count(method="GET", path=PODS) == 1
        assert len({id(s) for s in snapshots}) == 1
        ticker.now += 2.5
        cached.snapshot()
        assert api.count(method="GET", path=PODS) == 2


def test_a_change_through_meshgate_is_seen_by_the_next_read(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(one_service_cluster())
    with LiveClusterReader.for_host(api.url) as live, KubeWriter.for_host(api.url) as writer:
        cached = CachedClusterReader(live, ttl_s=60.0)
        changes = KubeChanges(writer, on_change=cached.invalidate)
        before = cached.snapshot()
        assert not before.of(Kind.PEER_AUTHENTICATION)
        planned = actions.objects_for(
            PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT"),
            service=ServiceRef("shop", "checkout"),
            snapshot=before,
            callers=(),
            now=datetime(2026, 11, 25, tzinfo=UTC),
        )
        changes.apply(planned)
        after = cached.snapshot()
        assert [p["metadata"]["name"] for p in after.of(Kind.PEER_AUTHENTICATION)] == [
            "meshgate-checkout"
        ]


def test_a_snapshot_with_read_errors_is_not_kept(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(one_service_cluster())
    api.fail(PODS, 500, method="GET", times=1)
    with LiveClusterReader.for_host(api.url) as live:
        cached = CachedClusterReader(live, ttl_s=60.0)
        assert Kind.POD in cached.snapshot().errors
        assert not cached.snapshot().errors  # read again, and the server answers now
