"""A phase's change applied to a cluster: dry-run diff in the request, apply, rollback, failure.

The cluster is the fake Kubernetes API server of tests/support, read by LiveClusterReader and
written by KubeWriter over HTTP (server-side apply, field manager `meshgate`), validated against
Istio's CRD schemas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot import wording
from bot.kube.changes import KubeChanges
from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from bot.metrics.local_server import LocalPrometheus
from bot.metrics.source import PrometheusMetrics
from bot.slack import comparisons
from bot.slack.app import web_client
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.support import kube_fixtures
from tests.support.clock import ManualClock
from tests.support.clusters import one_service_cluster
from tests.support.kube_api import FakeKubeApi
from tests.support.prometheus import AT, expected_mtls
from tests.support.slack_api import SlackWebStandIn
from workflows import playbook

SVC = "shop/checkout"
PA = "/apis/security.istio.io/v1/namespaces/shop/peerauthentications/meshgate-checkout"
STRICT_PLAYBOOK = """\
schema: meshgate.playbook/v1
name: strict-only
phases:
  - id: prepare
    stage: assess
    title: Prepare
    gate: [{id: ready, title: Ready, attest: true}]
    approvals: {required: 0}
  - id: strict
    stage: release
    title: STRICT mTLS
    gate: [{id: announced, title: Announced, attest: true}]
    change: {kind: peer-authentication, mode: STRICT}
    approvals: {required: 1, users: [bob]}
  - id: rbac
    stage: release
    title: RBAC
    gate: [{id: done, title: Done, attest: true}]
"""


@pytest.fixture
def api(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
) -> FakeKubeApi:
    return kube_api_factory(one_service_cluster(), schemas=istio_crd_schemas)


@pytest.fixture
def ctx(api: FakeKubeApi, store: RedisStore, clock: ManualClock) -> Iterator[Context]:
    with (
        LiveClusterReader.for_host(api.url) as reader,
        KubeWriter.for_host(api.url, timeout=2.0) as writer,
    ):
        yield Context(
            store=store,
            playbook=playbook.parse(STRICT_PLAYBOOK, source="strict.yaml"),
            clock=clock,
            cluster=reader,
            writer=KubeChanges(writer),
        )


def say(ctx: Context, actor: str, text: str) -> Any:
    return dispatch.execute(text, actor=actor, ctx=ctx)


def to_strict_request(ctx: Context) -> Any:
    for text in (
        f"start {SVC}",
        f"attest {SVC} ready",
        f"advance {SVC}",
        f"attest {SVC} announced",
    ):
        assert say(ctx, "dave" if text.startswith("attest") else "alice", text).ok
    return say(ctx, "alice", f"advance {SVC}")


def test_the_request_shows_the_dry_run_diff_and_stores_nothing(
    ctx: Context, api: FakeKubeApi
) -> None:
    reply = to_strict_request(ctx)
    assert reply.ok and reply.rollout.request is not None
    diff = reply.rollout.request.diff
    assert "+kind: PeerAuthentication" in diff and "+    mode: STRICT" in diff
    # the server answered the dry run (it sends 201 as for a create) and stored nothing
    assert api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout") is None


def test_approval_applies_the_change_and_rollback_removes_it(
    ctx: Context, api: FakeKubeApi
) -> None:
    to_strict_request(ctx)
    approved = say(ctx, "bob", f"approve {SVC}")
    assert approved.ok, approved.error
    assert "applied PeerAuthentication shop/meshgate-checkout" in (wording.message(approved) or "")
    stored = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert stored is not None and stored["spec"]["mtls"]["mode"] == "STRICT"
    assert stored["metadata"]["managedFields"][0]["manager"] == "meshgate"

    trail = say(ctx, "carol", f"history {SVC}").history
    assert (trail[-2].actor, trail[-2].action, trail[-2].outcome) == ("meshgate", "change", "ok")
    assert "applied PeerAuthentication shop/meshgate-checkout" in trail[-2].detail
    # then verified at once on a fresh read: the policy is there, so the phase completed
    assert (trail[-1].actor, trail[-1].action, trail[-1].outcome) == ("meshgate", "verify", "ok")
    assert approved.rollout.phase == "rbac"

    back = say(ctx, "bob", f"rollback {SVC}")
    assert back.ok and back.rollout.phase == "strict"
    assert "reverted: deleted PeerAuthentication shop/meshgate-checkout" in (
        wording.message(back) or ""
    )
    assert api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout") is None


def test_a_failed_apply_rolls_the_rollout_back_and_says_why(ctx: Context, api: FakeKubeApi) -> None:
    to_strict_request(ctx)
    api.fail(PA, 403, method="PATCH", message="peerauthentications is forbidden")
    approved = say(ctx, "bob", f"approve {SVC}")
    assert approved.error is not None and approved.error.code == "conflict"
    assert "403" in approved.error.message and "back at phase strict" in approved.error.message
    status = say(ctx, "bob", f"status {SVC}").rollout
    assert (status.phase, status.state) == ("strict", "rolled_back")
    history = say(ctx, "bob", f"history {SVC}").history
    assert history is not None
    assert [(h.actor, h.action, h.outcome) for h in history[-2:]] == [
        ("bob", "approve", "ok"),
        ("meshgate", "change", "conflict"),
    ]
    said = wording.history_detail(history[-1].detail, history[-1].happened, service=SVC)
    assert "the change of phase strict failed" in said and "403" in said
    assert "back to strict" in said


def test_a_dry_run_the_server_refuses_refuses_the_advance(ctx: Context, api: FakeKubeApi) -> None:
    api.fail(PA, 422, method="PATCH", message="spec.mtls.mode: Unsupported value")
    reply = to_strict_request(ctx)
    assert reply.error is not None and reply.error.code == "conflict"
    assert "dry run refused" in reply.error.message
    assert say(ctx, "alice", f"status {SVC}").rollout.state == "in_progress"


def test_the_numbers_before_a_change_are_kept_and_compared_in_the_thread_later(
    ctx: Context,
    store: RedisStore,
    clock: ManualClock,
    prometheus: LocalPrometheus,
    slack_api: SlackWebStandIn,
) -> None:
    clock.now = AT  # the test Prometheus holds checkout's series around AT
    source = PrometheusMetrics.from_url(prometheus.url)
    measured = dataclasses.replace(ctx, metrics=source)
    publisher = Publisher(
        client=web_client(token="xoxb-test", base_url=slack_api.base_url),
        state=SlackState(store.client),
        ctx=measured,
    )
    pending = to_strict_request(measured)
    assert pending.ok and pending.rollout is not None
    posted = publisher.show(pending.rollout, channel="C111")  # the rollout's message
    assert posted is not None
    assert say(measured, "bob", f"approve {SVC}").ok  # applies the change

    before = store.before_of(SVC, "strict")
    assert before is not None
    assert before.mtls_share == pytest.approx(expected_mtls("shop", "checkout"))
    assert comparisons.sweep(ctx=measured, publisher=publisher) == []  # not due yet
    clock.advance(timedelta(minutes=15))
    assert comparisons.sweep(ctx=measured, publisher=publisher) == [f"{SVC}|strict"]
    assert comparisons.sweep(ctx=measured, publisher=publisher) == []  # posted once
    (note,) = slack_api.replies("C111", posted.ts)
    assert "Metrics after phase `strict`" in note["text"] and "mTLS share" in note["text"]
    source.close()
