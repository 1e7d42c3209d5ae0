"""Phases that prove themselves, over the Kubernetes API stand-in (issue 9's "done means").

The cluster is tests/support/kube_api.py, read by LiveClusterReader and written by KubeWriter
over HTTP; Slack is the Web API stand-in. Time is a ManualClock; the verification sweep is
called directly, as the scheduler of `meshgate serve` calls it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
import yaml

from bot import wording
from bot.kube.changes import KubeChanges
from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from bot.slack import verification
from bot.state.store import RedisStore
from commands import dispatch, verifying
from commands.context import Context
from commands.replies import Reply
from tests.support import kube_fixtures, slack_app
from tests.support.clock import ManualClock
from tests.support.clusters import one_service_cluster
from tests.support.kube_api import FakeKubeApi
from tests.support.slack_api import SlackWebStandIn
from workflows import playbook

SVC = "shop/checkout"
CHANNEL = "C111"
PLAYBOOK = """\
schema: meshgate.playbook/v1
name: verified
phases:
  - id: strict
    stage: release
    title: STRICT mTLS
    gate: [{id: announced, title: Announced, attest: true}]
    change: {kind: peer-authentication, mode: STRICT}
    verify:
      - {id: mtls-strict, title: Effective mTLS STRICT on every port, check: mtls-strict}
      - {id: sidecars-ready, title: Every pod has a ready istio-proxy, check: sidecars-ready}
    verification: {deadline: 10m}
    approvals: {required: 1, users: [UBOB]}
  - id: rbac
    stage: release
    title: RBAC
    gate: [{id: done, title: Done, attest: true}]
"""
OLDER_PERMISSIVE = {
    "apiVersion": "security.istio.io/v1",
    "kind": "PeerAuthentication",
    "metadata": {
        "name": "legacy",
        "namespace": "shop",
        "creationTimestamp": "2025-01-01T00:00:00Z",
    },
    "spec": {"selector": {"matchLabels": {"app": "checkout"}}, "mtls": {"mode": "PERMISSIVE"}},
}


def cluster(*, proxy_ready: bool = True, extra: tuple[dict[str, Any], ...] = ()) -> list[Any]:
    objects = copy.deepcopy(one_service_cluster())
    pod = next(o for o in objects if o["kind"] == "Pod")
    pod["status"]["containerStatuses"][1]["ready"] = proxy_ready
    return [*objects, *extra]


def live_context(
    api: FakeKubeApi, store: RedisStore, clock: ManualClock, stack: ExitStack, *, writes: bool
) -> Context:
    reader = stack.enter_context(LiveClusterReader.for_host(api.url))
    writer = stack.enter_context(KubeWriter.for_host(api.url, timeout=2.0)) if writes else None
    return Context(
        store=store,
        playbook=playbook.parse(PLAYBOOK, source="verified.yaml"),
        clock=clock,
        cluster=reader,
        writer=KubeChanges(writer) if writer is not None else None,
    )


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as opened:
        yield opened


def say(ctx: Context, actor: str, text: str) -> Reply:
    return dispatch.execute(text, actor=actor, ctx=ctx)


def to_request(ctx: Context) -> Reply:
    assert say(ctx, "alice", f"start {SVC}").ok
    assert say(ctx, "dave", f"attest {SVC} announced").ok  # not the requester alone
    return say(ctx, "alice", f"advance {SVC}")


def pa(api: FakeKubeApi) -> dict[str, Any] | None:
    return api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")


def test_a_change_that_verifies_completes_its_phase(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
    store: RedisStore,
    clock: ManualClock,
    stack: ExitStack,
) -> None:
    api = kube_api_factory(cluster(), schemas=istio_crd_schemas)
    ctx = live_context(api, store, clock, stack, writes=True)
    assert to_request(ctx).ok

    approved = say(ctx, "UBOB", f"approve {SVC}")

    assert approved.ok and approved.rollout is not None, approved.error
    assert (approved.rollout.phase, approved.rollout.state) == ("rbac", "in_progress")
    said = wording.message(approved) or ""
    assert "being verified until 2026-11-25T10:10:00Z" in said
    assert "phase strict completed (verified); now at phase rbac" in said
    assert pa(api) is not None
    history = say(ctx, "carol", f"history {SVC}").history or []
    assert [(h.actor, h.action, h.outcome) for h in history[-3:]] == [
        ("UBOB", "approve", "ok"),
        ("meshgate", "change", "ok"),
        ("meshgate", "verify", "ok"),
    ]


def test_a_change_an_older_policy_would_shadow_is_refused_before_applying(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
    store: RedisStore,
    clock: ManualClock,
    stack: ExitStack,
) -> None:
    api = kube_api_factory(cluster(extra=(OLDER_PERMISSIVE,)), schemas=istio_crd_schemas)
    ctx = live_context(api, store, clock, stack, writes=True)

    refused = to_request(ctx)

    assert refused.error is not None and refused.error.code == "conflict"
    message = refused.error.message
    assert "refused before applying anything" in message
    assert "PeerAuthentication shop/legacy (mode PERMISSIVE)" in message
    assert "delete it, or narrow its selector" in message
    assert pa(api) is None
    assert api.count(method="PATCH") == 0  # not even a dry run
    status = say(ctx, "alice", f"status {SVC}").rollout
    assert status is not None and status.state == "in_progress"
    last = (say(ctx, "alice", f"history {SVC}").history or [])[-1]
    assert (last.action, last.outcome) == ("advance", "conflict")
    assert "shop/legacy" in last.detail


def test_a_change_that_fails_verification_by_its_deadline_is_rolled_back_and_said(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
    store: RedisStore,
    clock: ManualClock,
    stack: ExitStack,
    slack_api: SlackWebStandIn,
) -> None:
    api = kube_api_factory(cluster(proxy_ready=False), schemas=istio_crd_schemas)
    ctx = live_context(api, store, clock, stack, writes=True)
    bot = slack_app.open_bot(slack_api, ctx, stack)
    assert bot.slack is not None
    publisher = bot.slack.publisher
    started = dispatch.execute(f"start {SVC}", actor="UALICE", ctx=bot.ctx)
    publisher.changed(started, actor="UALICE", channel=CHANNEL)
    assert dispatch.execute(f"attest {SVC} announced", actor="UDAVE", ctx=bot.ctx).ok
    assert dispatch.execute(f"advance {SVC}", actor="UALICE", ctx=bot.ctx).ok
    approved = dispatch.execute(f"approve {SVC}", actor="UBOB", ctx=bot.ctx)
    assert approved.rollout is not None and approved.rollout.state == "verifying"
    assert pa(api) is not None  # applied; the proxy is not ready, so it cannot verify yet

    clock.advance(timedelta(minutes=9, seconds=59))
    assert verification.sweep(ctx=bot.ctx, publisher=publisher) == []  # pending: nothing moves
    version = store.load(SVC).version  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=1))
    assert verification.sweep(ctx=bot.ctx, publisher=publisher) == [SVC]

    rollout = store.load(SVC)
    assert rollout is not None and (rollout.phase, rollout.state.value) == ("strict", "rolled_back")
    assert rollout.version == version + 1
    assert pa(api) is None  # what it applied was undone
    notes = [m["text"] for m in slack_api.messages(CHANNEL) if m.get("thread_ts")]
    assert any(
        "the verification of phase strict failed by its deadline: sidecars-ready" in n
        and "deleted PeerAuthentication shop/meshgate-checkout" in n
        for n in notes
    ), notes
    last = (say(ctx, "alice", f"history {SVC}").history or [])[-2:]
    assert [(h.actor, h.action, h.outcome) for h in last] == [
        ("meshgate", "verify", "conflict"),
        ("meshgate", "change", "ok"),
    ]


def test_a_gitops_phase_waits_for_the_change_and_completes_when_it_appears(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
    store: RedisStore,
    clock: ManualClock,
    stack: ExitStack,
) -> None:
    api = kube_api_factory(cluster(), schemas=istio_crd_schemas)
    ctx = live_context(api, store, clock, stack, writes=False)  # the team applies through Git
    request = to_request(ctx)
    assert request.ok and request.rollout is not None and request.rollout.request is not None
    manifest = request.rollout.request.manifest or ""
    assert "kind: PeerAuthentication" in manifest and "mode: STRICT" in manifest
    planned = say(ctx, "alice", f"plan {SVC}").plan  # the same YAML, on demand
    assert planned is not None and planned.manifest == manifest
    assert planned.objects == ["PeerAuthentication shop/meshgate-checkout"]

    approved = say(ctx, "UBOB", f"approve {SVC}")
    assert approved.rollout is not None and approved.rollout.state == "verifying"
    assert "NOT applied" in (wording.message(approved) or "")
    waiting = say(ctx, "alice", f"status {SVC}").rollout
    assert waiting is not None
    assert [(c.id, c.status) for c in waiting.checklist][0] == ("change-present", "fail")

    early = say(ctx, "alice", f"advance {SVC}")  # a person asking is told what is awaited
    assert early.error is not None and early.error.code == "conflict"
    assert "waiting for change-present (fail)" in early.error.message
    last = (say(ctx, "alice", f"history {SVC}").history or [])[-1]
    assert (last.actor, last.action, last.outcome) == ("alice", "advance", "conflict")

    clock.advance(timedelta(minutes=1))
    assert [r.happened for r in _sweep(ctx)] == []
    api.seed([_committed(manifest)])  # the GitOps controller applies the commit
    clock.advance(timedelta(minutes=1))
    (moved,) = _sweep(ctx)

    assert moved.rollout is not None and (moved.rollout.phase, moved.rollout.state) == (
        "rbac",
        "in_progress",
    )
    assert "phase strict completed (verified)" in (wording.message(moved) or "")


def _sweep(ctx: Context) -> list[Reply]:
    return verifying.sweep(ctx=ctx)


def _committed(manifest: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(manifest)
    body["metadata"]["creationTimestamp"] = "2026-11-25T10:01:00Z"
    return body
