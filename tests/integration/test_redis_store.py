"""The Redis store under contention and outage: one transition per race, nothing half-written."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import redis

from bot.state.store import RedisStore, rollout_key
from commands import dispatch
from commands.replies import Reply
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_server import RedisServer
from workflows.naming import ServiceRef
from workflows.ports import StoreUnavailable
from workflows.rollout import machine
from workflows.rollout.events import Actor, Approve
from workflows.rollout.trail import TrailEntry

SVC = "shop/productpage"
SETUP = (
    f"start {SVC}",
    f"attest {SVC} ready",
    f"advance {SVC}",
    f"attest {SVC} announced",
    f"advance {SVC}",
)


def prepare(url: str, clock: ManualClock, *, approvers: tuple[str, ...] = ()) -> None:
    store = RedisStore.from_url(url)
    ctx = context(store, clock, approvers=approvers)
    for text in SETUP:
        actor = "dave" if text.startswith("attest") else "alice"  # not the requester alone
        assert dispatch.execute(text, actor=actor, ctx=ctx).ok
    store.close()


def click_all(url: str, clock: ManualClock, actors: list[str], text: str) -> list[Reply]:
    """Every actor sends `text` at once, each over its own connection, released together."""
    barrier = threading.Barrier(len(actors))
    replies: list[Reply] = []
    lock = threading.Lock()

    def click(actor: str) -> None:
        store = RedisStore.from_url(url)
        ctx = context(store, clock, manifests=None)
        barrier.wait()
        reply = dispatch.execute(text, actor=actor, ctx=ctx)
        with lock:
            replies.append(reply)
        store.close()

    threads = [threading.Thread(target=click, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_fifty_concurrent_approvals_give_exactly_one_transition(
    redis_url: str, clock: ManualClock
) -> None:
    prepare(redis_url, clock)
    store = RedisStore.from_url(redis_url)
    before = store.load(SVC)
    assert before is not None

    replies = click_all(redis_url, clock, ["bob"] * 25 + ["carol"] * 25, f"approve {SVC}")

    outcomes = Counter("ok" if r.error is None else r.error.code.value for r in replies)
    assert outcomes["ok"] == 1
    assert outcomes["already_decided"] == 49
    after = store.load(SVC)
    assert after is not None
    assert after.version == before.version + 1
    # the clickers' contexts have no cluster: the change cannot be seen, so the phase waits
    assert (after.phase, after.state) == ("switch", "verifying")
    approvals = [e for e in store.history(SVC, limit=200) if e.action == "approve"]
    assert [e.outcome for e in approvals].count("ok") == 1
    store.close()


def test_fifty_approvers_on_a_two_approval_phase_complete_it_once(
    redis_url: str, clock: ManualClock
) -> None:
    prepare(redis_url, clock)
    # `lock` needs two approvals (bob, or members of SPLATFORM): fifty clicks by bob are one vote
    store = RedisStore.from_url(redis_url)
    ctx = context(store, clock)
    assert dispatch.execute(f"approve {SVC}", actor="bob", ctx=ctx).ok
    assert dispatch.execute(f"attest {SVC} done", actor="dave", ctx=ctx).ok
    assert dispatch.execute(f"advance {SVC}", actor="alice", ctx=ctx).ok
    before = store.load(SVC)
    assert before is not None

    replies = click_all(redis_url, clock, ["bob"] * 50, f"approve {SVC}")

    assert sum(r.ok for r in replies) == 1
    after = store.load(SVC)
    assert after is not None and after.request is not None
    assert [a.by for a in after.request.approvals] == ["bob"]
    assert after.version == before.version + 1
    store.close()


def test_redis_killed_mid_session_answers_unavailable_and_keeps_the_document(
    own_redis: RedisServer, clock: ManualClock
) -> None:
    prepare(own_redis.url, clock)
    store = RedisStore.from_url(own_redis.url, timeout=1.0)
    ctx = context(store, clock)
    before = store.load(SVC)
    assert before is not None

    own_redis.kill()
    for text in (f"approve {SVC}", f"status {SVC}", "list", f"history {SVC}"):
        reply = dispatch.execute(text, actor="bob", ctx=ctx)
        assert reply.error is not None, text
        assert reply.error.code == "unavailable", text
        assert "nothing was changed" in reply.error.message
        assert "redis://" not in reply.error.message  # no URL (and so no password) leaks

    own_redis.start()
    after = store.load(SVC)
    assert after == before
    assert dispatch.execute(f"approve {SVC}", actor="bob", ctx=ctx).ok
    store.close()


def test_redis_dying_inside_a_transition_writes_nothing(
    own_redis: RedisServer, clock: ManualClock
) -> None:
    prepare(own_redis.url, clock)
    store = RedisStore.from_url(own_redis.url, timeout=1.0)
    before = store.load(SVC)
    playbook = context(store, clock).playbook

    transition = machine.decide(
        before, Approve(ServiceRef.parse(SVC)), actor=Actor("bob"), playbook=playbook, now=clock()
    )
    own_redis.kill()  # the server dies after the read, before the compare-and-set
    entry = TrailEntry(at=clock(), actor="bob", action="approve", outcome="ok")
    with pytest.raises(StoreUnavailable):
        assert before is not None
        store.commit(transition.rollout, expected_version=before.version, entries=[entry])
    own_redis.start()
    assert store.load(SVC) == before
    assert [e.actor for e in store.history(SVC, limit=50)].count("bob") == 0
    store.close()


def test_a_corrupt_document_is_reported_not_overwritten(
    redis_url: str, store: RedisStore, clock: ManualClock
) -> None:
    raw = redis.Redis.from_url(redis_url)
    raw.set(rollout_key(SVC), b'{"service": "shop/productpage", "phase_ind')
    reply = dispatch.execute(f"status {SVC}", actor="bob", ctx=context(store, clock))
    assert reply.error is not None and reply.error.code == "unavailable"
    assert "unreadable" in reply.error.message
    approve = dispatch.execute(f"approve {SVC}", actor="bob", ctx=context(store, clock))
    assert approve.error is not None and approve.error.code == "unavailable"
    assert raw.get(rollout_key(SVC)) == b'{"service": "shop/productpage", "phase_ind'
    raw.close()
