"""Fault 1: Redis restarted mid-rollout, under a running Slack app that is not restarted.

An external redis-server (AOF on) is killed and started again between two steps of a rollout.
The rollout's document and its whole trail are there afterwards, and the same app (same
process, same store object) carries the rollout on: the client reconnects by itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from bot.state.store import RedisStore
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.playbooks import attest_only
from tests.support.redis_server import RedisServer
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve

SVC = "shop/productpage"
ALICE, DAVE = "UALICE", "UDAVE"


@pytest.fixture
def served(
    store: RedisStore, slack_api: SlackWebStandIn, clock: ManualClock
) -> Iterator[ServedApp]:
    app = serve(slack_api, context(store, clock, playbook=attest_only()))
    yield app
    app.stop()


def replies_to(slack: SlackWebStandIn, user: str) -> list[str]:
    """Every answer `user` got, ephemeral or through the response URL, as text."""
    said = [json.dumps(e) for e in slack.ephemerals if e["user"] == user]
    return said + [json.dumps(p.body) for p in slack.response_posts if p.user_id == user]


def step(app: ServedApp, store: RedisStore, text: str, *, user: str) -> bool:
    """Send `text`; True when its entry reached the history, False when it was refused.

    The history is read through the test's `store`, never the app's, so the app's first
    command after a restart is its own first use of its connections.
    """
    seen = len(store.history(SVC, limit=1000))
    answered = len(replies_to(app.slack, user))
    assert app.command(text, user=user) == 200
    app.settle()
    if len(store.history(SVC, limit=1000)) > seen:
        return True
    eventually(lambda: len(replies_to(app.slack, user)) > answered, what=f"an answer to {text}")
    return False


def test_a_redis_restart_loses_nothing_and_the_app_carries_on(
    served: ServedApp,
    store: RedisStore,
    own_redis: RedisServer,
    figure: Callable[[str, str], None],
) -> None:
    assert step(served, store, f"start {SVC}", user=ALICE)
    assert step(served, store, f"attest {SVC} ready", user=DAVE)
    assert step(served, store, f"advance {SVC}", user=ALICE)
    before = store.load(SVC)
    trail_before = store.history(SVC, limit=1000)
    assert before is not None and before.phase == "switch"

    own_redis.kill()  # a crash, not a shutdown: only what AOF holds comes back
    own_redis.start()
    restarted = time.monotonic()

    assert store.load(SVC) == before, "the rollout document changed across the restart"
    assert store.history(SVC, limit=1000) == trail_before, "the trail changed"

    commands = 3
    failed = 0
    first_ok: float | None = None
    for text, user in ((f"attest {SVC} announced in #eng", DAVE), (f"advance {SVC}", ALICE)):
        if step(served, store, text, user=user):
            first_ok = first_ok or time.monotonic()
        else:
            failed += 1
        commands += 1
    after = store.load(SVC)
    assert after is not None
    assert [a.item for a in after.attestations if a.phase == "switch"] == ["announced"]
    assert after.state == "awaiting_approval", "the advance after the restart did not land"
    trail_after = store.history(SVC, limit=1000)
    assert trail_after[: len(trail_before)] == trail_before, "an entry of the trail was lost"
    assert failed == 0, "a command after the restart failed: the app did not reconnect"
    assert first_ok is not None
    lost = sum(entry not in trail_after for entry in trail_before)
    figure(
        "redis-restart",
        f"{commands} commands, {lost} lost (document and {len(trail_before)} trail "
        f"entries intact), {failed} failed as 'unavailable', app not restarted, "
        f"first command after the restart answered in {first_ok - restarted:.2f} s",
    )
