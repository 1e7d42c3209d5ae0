"""Baselines follow the rollout: stored when `strict` completes, cleared by its rollback, and the
watch holds the service to what was stored (real Redis, the demo mesh's manifests)."""

from __future__ import annotations

import dataclasses

from bot.state.store import RedisStore
from bot.state.watch import RedisWatchStore
from commands import dispatch
from tests.support.clock import ManualClock
from tests.support.contexts import context
from workflows import playbook

STRICT_LAST = """\
schema: meshgate.playbook/v1
name: strict-last
phases:
  - id: prepare
    stage: assess
    title: Prepare
    gate:
      - {id: ready, title: The team is ready, attest: true}
    approvals: {required: 0}
  - id: strict
    stage: release
    title: STRICT mTLS
    gate:
      - {id: announced, title: The change was announced, attest: true}
    change: {kind: peer-authentication, mode: STRICT}
    approvals: {required: 0}
"""
SVC = "shop/productpage"


def test_completing_strict_stores_the_baseline_and_rolling_it_back_clears_it(
    store: RedisStore, clock: ManualClock
) -> None:
    watch = RedisWatchStore(store.client)
    book = playbook.parse(STRICT_LAST, source="strict-last.yaml")
    ctx = dataclasses.replace(context(store, clock, playbook=book), watch=watch)

    def run(text: str) -> None:
        reply = dispatch.execute(text, actor="alice", ctx=ctx)
        assert reply.ok, reply.error

    for text in (f"start {SVC}", f"attest {SVC} ready", f"advance {SVC}"):
        run(text)
    assert watch.baselines() == []  # `prepare` is not a phase the watch holds anyone to
    run(f"attest {SVC} announced")
    run(f"advance {SVC}")
    (baseline,) = watch.baselines()
    assert (baseline.service, baseline.phase) == (SVC, "strict")
    assert baseline.audit.mtls.mode.value == "STRICT"  # meshgate's STRICT policy, as read
    run(f"rollback {SVC}")
    assert watch.baselines() == []
