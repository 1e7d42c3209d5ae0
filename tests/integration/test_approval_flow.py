"""The approval flow through the command layer on a real Redis: issue 2's "done means"."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import wording
from bot.console import render
from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from commands.replies import Reply
from tests.support.clock import ManualClock
from tests.support.contexts import context
from workflows import playbook

SVC = "shop/productpage"


@pytest.fixture
def ctx(store: RedisStore, clock: ManualClock) -> Context:
    return context(store, clock)


def say(ctx: Context, actor: str, text: str) -> Reply:
    return dispatch.execute(text, actor=actor, ctx=ctx)


def at_switch_pending(ctx: Context) -> None:
    """alice starts and advances to phase `switch`, then asks for its approval.

    dave attests `announced`: the one who asks for approval may not vouch for the gate alone.
    """
    for actor, text in (
        ("alice", f"start {SVC}"),
        ("alice", f"attest {SVC} ready team agreed"),
        ("alice", f"advance {SVC}"),
        ("dave", f"attest {SVC} announced posted in #eng"),
        ("alice", f"advance {SVC}"),
    ):
        reply = say(ctx, actor, text)
        assert reply.ok, reply.error
    status = say(ctx, "alice", f"status {SVC}").rollout
    assert status is not None and status.state == "awaiting_approval"


def test_start_and_advance_show_the_checklist_of_the_phase_they_land_on(ctx: Context) -> None:
    started = say(ctx, "alice", f"start {SVC}")
    assert started.rollout is not None
    assert [(c.id, c.status) for c in started.rollout.checklist] == [("ready", "pending")]
    say(ctx, "alice", f"attest {SVC} ready")
    moved = say(ctx, "alice", f"advance {SVC}")
    assert moved.rollout is not None and moved.rollout.phase == "switch"
    assert [c.id for c in moved.rollout.checklist] == ["announced", "nice-to-have"]


def test_self_outsider_approver_then_double_click(ctx: Context) -> None:
    at_switch_pending(ctx)

    own = say(ctx, "alice", f"approve {SVC}")
    assert own.error is not None and own.error.code == "self_approval"
    outsider = say(ctx, "mallory", f"approve {SVC}")
    assert outsider.error is not None and outsider.error.code == "not_authorized"

    approved = say(ctx, "bob", f"approve {SVC}")
    assert approved.ok and approved.rollout is not None
    assert (approved.rollout.phase, approved.rollout.state) == ("lock", "in_progress")
    said = wording.message(approved) or ""
    assert "phase switch passed (approved by bob)" in said
    # applied to the (in-memory) cluster, then verified at once: the change is there
    assert "applied PeerAuthentication shop/meshgate-productpage" in said
    assert "phase switch completed (verified); now at phase lock" in said

    again = say(ctx, "bob", f"approve {SVC}")
    assert again.error is not None and again.error.code == "already_decided"
    assert "already approved by bob" in again.error.message


def test_rollback_returns_to_the_previous_phase(ctx: Context) -> None:
    at_switch_pending(ctx)
    assert say(ctx, "bob", f"approve {SVC}").ok
    back = say(ctx, "carol", f"rollback {SVC}")
    assert back.ok and back.rollout is not None
    assert (back.rollout.phase, back.rollout.state) == ("switch", "rolled_back")
    assert "from lock back to switch" in (wording.message(back) or "")


def test_a_stranger_refused_reject_cannot_abort_and_restart(ctx: Context) -> None:
    at_switch_pending(ctx)
    codes = [say(ctx, "mallory", f"{verb} {SVC}").error for verb in ("reject", "abort", "start")]
    assert [e.code if e else "ok" for e in codes] == [
        "not_authorized",
        "not_authorized",
        "conflict",
    ]
    status = say(ctx, "alice", f"status {SVC}").rollout
    assert status is not None and (status.phase, status.state) == ("switch", "awaiting_approval")
    history = say(ctx, "carol", f"history {SVC}").history
    assert history is not None
    assert [(h.actor, h.action, h.outcome) for h in history[-3:]] == [
        ("mallory", "reject", "not_authorized"),
        ("mallory", "abort", "not_authorized"),
        ("mallory", "start", "conflict"),
    ]


def test_the_requester_alone_cannot_vouch_for_a_gate_that_needs_approval(ctx: Context) -> None:
    for text in (
        f"start {SVC}",
        f"attest {SVC} ready",
        f"advance {SVC}",
        f"attest {SVC} announced",
    ):
        assert say(ctx, "alice", text).ok
    alone = say(ctx, "alice", f"advance {SVC}")
    assert alone.error is not None and alone.error.code == "not_authorized"
    assert "someone other than the requester must attest it" in alone.error.message
    assert say(ctx, "dave", f"attest {SVC} announced").ok
    asked = say(ctx, "alice", f"advance {SVC}")
    assert asked.ok and asked.rollout is not None and asked.rollout.state == "awaiting_approval"


def test_history_lists_each_step_with_its_actor_refusals_included(ctx: Context) -> None:
    at_switch_pending(ctx)
    say(ctx, "alice", f"approve {SVC}")
    say(ctx, "bob", f"approve {SVC}")
    history = say(ctx, "carol", f"history {SVC}").history
    assert history is not None
    assert [(h.actor, h.action, h.outcome) for h in history] == [
        ("alice", "start", "ok"),
        ("alice", "attest", "ok"),
        ("alice", "advance", "ok"),
        ("dave", "attest", "ok"),
        ("alice", "advance", "ok"),
        ("alice", "approve", "self_approval"),
        ("bob", "approve", "ok"),
        ("meshgate", "change", "ok"),  # applied
        ("meshgate", "verify", "ok"),  # verified: the phase completed
    ]
    assert history[0].at == "2026-11-25T10:00:00Z"


def test_an_expired_request_cannot_be_approved(ctx: Context, clock: ManualClock) -> None:
    at_switch_pending(ctx)
    clock.advance(timedelta(hours=1, seconds=1))
    late = say(ctx, "bob", f"approve {SVC}")
    assert late.error is not None and late.error.code == "conflict"
    assert "expired" in late.error.message
    status = say(ctx, "bob", f"status {SVC}").rollout
    assert status is not None and status.state == "in_progress"
    assert status.last_decision is not None and status.last_decision.outcome == "expired"


ONE_PHASE_NO_APPROVERS = """\
schema: meshgate.playbook/v1
name: one
phases:
  - id: only
    stage: release
    title: Only
    gate: [{id: ok, title: ok, attest: true}]
"""


@pytest.mark.parametrize(
    ("approvers", "service", "outcome"),
    [(("U0BOB",), "shop/productpage", None), ((), "shop/reviews", "not_authorized")],
    ids=["default-approvers-used", "nobody-configured"],
)
def test_default_approvers_apply_where_the_playbook_names_none(
    store: RedisStore,
    clock: ManualClock,
    approvers: tuple[str, ...],
    service: str,
    outcome: str | None,
) -> None:
    book = playbook.parse(ONE_PHASE_NO_APPROVERS, source="one.yaml")
    ctx = context(store, clock, playbook=book, approvers=approvers)
    for actor, text in (
        ("alice", f"start {service}"),
        ("dave", f"attest {service} ok"),
        ("alice", f"advance {service}"),
    ):
        assert say(ctx, actor, text).ok
    reply = say(ctx, "U0BOB", f"approve {service}")
    if outcome is None:
        assert reply.ok and reply.rollout is not None and reply.rollout.state == "completed"
    else:
        assert reply.error is not None and reply.error.code == outcome
        assert "MESHGATE_APPROVERS is empty" in reply.error.message


def test_start_refuses_a_service_the_cluster_does_not_have(ctx: Context) -> None:
    reply = say(ctx, "alice", "start shop/nope")
    assert reply.error is not None and reply.error.code == "not_found"
    assert "no Service shop/nope" in reply.error.message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=120))
def test_any_text_gives_a_reply_never_a_crash(ctx: Context, text: str) -> None:
    reply = dispatch.execute(text, actor="fuzz", ctx=ctx)
    assert reply.ok or (reply.error is not None and reply.error.code != "internal")


def test_audit_in_chat_reports_posture_of_the_service(ctx: Context) -> None:
    reply = say(ctx, "carol", "audit shop/ratings")
    assert reply.ok and reply.audit is not None
    (ratings,) = reply.audit.services
    assert ratings.mtls.mode == "STRICT" and ratings.authz.default == "deny"
    assert json.loads(render.as_json(reply))["audit"]["schema"] == "meshgate.audit/v1"
    missing = say(ctx, "carol", "audit shop/nope")
    assert missing.error is not None and missing.error.code == "not_found"
