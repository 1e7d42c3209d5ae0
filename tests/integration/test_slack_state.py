"""Slack bookkeeping in Redis (bot.slack.state): message refs and waiting posts.

On one redis-server and on a three-master Redis Cluster: reconciliation reads every rollout's
message in one round trip, whichever slots the rollouts' hash tags fall in, and a ref stored
before teams were recorded reads as "team unknown" (its clicks are checked on channel and
message only), so a deployment keeps working across the upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis

from bot.slack.state import MAX_WAITING_NOTES, MessageRef, Posting, SlackState
from bot.state.store import RedisStore
from tests.support.redis_cluster import RedisCluster

# Namespaces whose hash tags spread over the three masters (tests/integration/test_redis_cluster).
SERVICES = [f"{ns}/checkout" for ns in ("shop", "billing", "search", "auth", "payments", "mail")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    started = RedisCluster(data_dir=tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


@pytest.fixture(params=["one-server", "cluster"])
def state(request: pytest.FixtureRequest, redis_url: str) -> Iterator[SlackState]:
    if request.param == "cluster":
        cluster: RedisCluster = request.getfixturevalue("cluster")
        for master in cluster.masters:
            client = redis.Redis(port=master.port)
            client.flushall()
            client.close()
        url = cluster.url
    else:
        url = redis_url
    store = RedisStore.from_url(url)
    yield SlackState(store.client)
    store.close()


def test_every_rollouts_message_and_waiting_post_in_one_read(state: SlackState) -> None:
    for i, service in enumerate(SERVICES[:3]):
        state.remember_message(service, MessageRef("C1", f"1.{i}", version=i, team="T1"))
    state.remember_posting(SERVICES[3], Posting(channel="C2", mark="m3", notes=("n",)))

    read = state.messages_of(SERVICES)

    assert [(ref.ts if ref else None) for ref, _ in read.values()] == [
        "1.0",
        "1.1",
        "1.2",
        None,
        None,
        None,
    ]
    assert read[SERVICES[3]][1] == Posting(channel="C2", mark="m3", notes=("n",))
    assert read[SERVICES[4]] == (None, None)


@pytest.mark.parametrize(
    ("stored", "team", "version"),
    [
        ({"channel": "C1", "ts": "1.0"}, "", 0),
        ({"channel": "C1", "ts": "1.0", "rendered": "3/x/", "digest": "d", "version": 3}, "", 3),
        ({"channel": "C1", "ts": "1.0", "version": 3, "team": "T1"}, "T1", 3),
    ],
    ids=["first-format", "before-teams", "with-team"],
)
def test_refs_stored_by_earlier_versions_read_as_team_unknown(
    state: SlackState, stored: dict[str, object], team: str, version: int
) -> None:
    state._redis.set("meshgate:{shop/checkout}:message", json.dumps(stored))

    ref = state.message_of("shop/checkout")

    assert ref is not None and (ref.channel, ref.ts, ref.team, ref.version) == (
        "C1",
        "1.0",
        team,
        version,
    )


def test_waiting_notes_keep_the_latest(state: SlackState) -> None:
    notes = tuple(f"note {i}" for i in range(MAX_WAITING_NOTES + 5))
    state.remember_posting("shop/checkout", Posting(channel="C1", mark="m", notes=notes))

    kept = state.posting_of("shop/checkout")

    assert kept is not None and kept.notes == notes[-MAX_WAITING_NOTES:]
