"""What a command costs in Redis, as the server saw it (MONITOR), not by patching a client.

A transition is one read and one atomic compare-and-set that also appends its trail entry; a
`status` that changes nothing writes nothing. MONITOR lists every command a client sent, and
marks the commands a script ran inside the server as `lua`: those are not round trips.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.support.clock import ManualClock
from tests.support.contexts import context

SVC = "shop/productpage"
TO_SWITCH_PENDING = (
    f"start {SVC}",
    f"attest {SVC} ready",
    f"advance {SVC}",
    f"attest {SVC} announced",
    f"advance {SVC}",
)


def by(text: str) -> str:
    """bob approves, dave attests (the requester may not vouch alone), alice does the rest."""
    return {"approve": "bob", "attest": "dave"}.get(text.split()[0], "alice")


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def marker(redis_url: str) -> Iterator[redis.Redis]:
    """A second connection, open before counting, that marks the end of a count."""
    client = redis.Redis.from_url(redis_url)
    client.ping()
    yield client
    client.close()


MARK = "meshgate-round-trip-test-done"


def run_counted(
    admin: redis.Redis, marker: redis.Redis, ctx: Context, text: str, *, actor: str
) -> list[str]:
    """The commands the bot sent to Redis while running `text` (scripts' inner calls aside)."""
    with admin.monitor() as monitor:  # type: ignore[no-untyped-call]
        reply = dispatch.execute(text, actor=actor, ctx=ctx)
        assert reply.ok, reply.error
        marker.echo(MARK)  # seen by the monitor after everything the command sent
        sent = []
        for command in monitor.listen():
            if MARK in command["command"]:
                break
            if command.get("client_type") != "lua":
                sent.append(command["command"].split()[0].upper())
    return sent


def test_an_approval_costs_two_round_trips_and_a_pending_verification_writes_nothing(
    store: RedisStore, clock: ManualClock, admin: redis.Redis, marker: redis.Redis
) -> None:
    ctx = context(store, clock, applied=False)  # read-only: the change is awaited, not applied
    for text in TO_SWITCH_PENDING:
        assert dispatch.execute(text, actor=by(text), ctx=ctx).ok

    sent = run_counted(admin, marker, ctx, f"approve {SVC}", actor="bob")

    # read; compare-and-set with its trail entry; the verification at once decides on the
    # rollout just written (no read back) and, still pending, writes nothing
    assert sent == ["GET", "EVALSHA"]
    after = store.load(SVC)
    assert after is not None and (after.phase, after.state) == ("switch", "verifying")
    assert [e.actor for e in store.history(SVC, limit=1)] == ["bob"]


def test_a_vote_that_is_not_the_last_costs_two_round_trips(
    store: RedisStore, clock: ManualClock, admin: redis.Redis, marker: redis.Redis
) -> None:
    ctx = context(store, clock)
    for text in (*TO_SWITCH_PENDING, f"approve {SVC}", f"attest {SVC} done", f"advance {SVC}"):
        assert dispatch.execute(text, actor=by(text), ctx=ctx).ok

    sent = run_counted(admin, marker, ctx, f"approve {SVC}", actor="bob")  # 1 of the 2 `lock` needs

    assert sent == ["GET", "EVALSHA"]
    pending = store.load(SVC)
    assert pending is not None and pending.request is not None
    assert [a.by for a in pending.request.approvals] == ["bob"]


def test_a_status_that_changes_nothing_writes_nothing(
    store: RedisStore, clock: ManualClock, admin: redis.Redis, marker: redis.Redis
) -> None:
    ctx = context(store, clock)
    assert dispatch.execute(f"start {SVC}", actor="alice", ctx=ctx).ok
    before = store.load(SVC)

    sent = run_counted(admin, marker, ctx, f"status {SVC}", actor="carol")

    assert sent == ["GET"]
    assert store.load(SVC) == before
