"""An external Redis (MESHGATE_REDIS_URL) that restarts or hangs, under every adapter on it.

redis-py's pools are shared by the store, the Slack bookkeeping and the watch store; nothing of
ours keeps a connection of its own. After the server is killed and started again on the same
port and data, each adapter works on its next call (the pool opens a new connection; the
commit script is loaded again on NOSCRIPT). A hung server (SIGSTOP) costs one timeout per
call, never several: a timeout is not retried (bot.state.urls).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from bot.slack.state import MessageRef, SlackState
from bot.state.store import QUICK_TIMEOUT_S, RedisStore
from bot.state.watch import RedisWatchStore
from commands import dispatch
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_server import RedisServer
from workflows.ports import StoreUnavailable

SVC = "shop/productpage"
TIMEOUT_S = 0.5


@pytest.fixture
def store(own_redis: RedisServer) -> Iterator[RedisStore]:
    s = RedisStore.from_url(own_redis.url, timeout=TIMEOUT_S)
    yield s
    s.close()


def _bump(store: RedisStore) -> bool:
    """A compare-and-set of the rollout (the commit script), one version on."""
    rollout = store.load(SVC)
    assert rollout is not None
    moved = rollout.model_copy(update={"version": rollout.version + 1})
    return store.commit(moved, expected_version=rollout.version, entries=[])


def _uses(store: RedisStore) -> dict[str, Callable[[], object]]:
    """One call of each adapter on the store's Redis."""
    state = SlackState(store.client, claims=store.quick_client)
    watch = RedisWatchStore(store.client)
    claims = iter(range(1000))
    return {
        "store commit (the script)": lambda: _bump(store),
        "slack claim (quick client)": lambda: state.claim_delivery(f"T{next(claims)}"),
        "slack message": lambda: state.remember_message(SVC, MessageRef(channel="C1", ts="1.2")),
        "watch store": lambda: watch.open_alerts(),
    }


def test_every_adapter_works_again_after_the_external_redis_restarts(
    own_redis: RedisServer, store: RedisStore, clock: ManualClock
) -> None:
    ctx = context(store, clock)
    assert dispatch.execute(f"start {SVC}", actor="alice", ctx=ctx).ok
    uses = _uses(store)
    for use in uses.values():
        assert use() is not False  # every pool holds a live connection now
    version = _version(store)

    own_redis.stop()  # a clean stop: what was acknowledged is in the AOF
    for what, use in uses.items():
        with pytest.raises(StoreUnavailable):
            use()
            pytest.fail(f"{what} answered with Redis down")

    own_redis.start()  # the same port and data folder
    for use in uses.values():
        assert use() is not False  # StoreUnavailable if a dead connection was kept
    assert _version(store) == version + 1, "the commit script did not run after the restart"
    assert dispatch.execute(f"status {SVC}", actor="bob", ctx=ctx).ok


def _version(store: RedisStore) -> int:
    rollout = store.load(SVC)
    assert rollout is not None
    return rollout.version


def test_a_hung_external_redis_costs_one_timeout_per_call(
    own_redis: RedisServer, store: RedisStore
) -> None:
    state = SlackState(store.client, claims=store.quick_client)
    store.ping()
    state.claim_delivery("T-before")
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.load(SVC)
        load_seconds = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            state.claim_delivery("T-during")
        claim_seconds = time.monotonic() - started
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert TIMEOUT_S <= load_seconds < 2 * TIMEOUT_S, load_seconds
    assert QUICK_TIMEOUT_S <= claim_seconds < 2 * QUICK_TIMEOUT_S, claim_seconds
    assert store.load(SVC) is None  # answers again once resumed
