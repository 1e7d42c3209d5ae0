"""Slack messages brought back in line with Redis after crashes and Slack outages (issue 13, 5).

The state in Redis is the truth; the rollout's message follows it. The app is the one
`meshgate serve` runs, on a real Redis, talking to the Slack Web API stand-in, which fails,
hangs and recovers on demand. Reconciliation runs as `serve` runs it: the start-up pass and the
scheduled tick (bot.slack.reconcile).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from bot import observability
from bot.slack import app as slack_app
from bot.slack import blocks, reconcile
from bot.slack.pacing import Pacer
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.playbooks import ATTEST_ONLY
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import TOKEN, ServedApp, eventually, open_bot, serve
from workflows import playbook
from workflows.naming import ServiceRef
from workflows.rollout.events import Approve, Start

SVC = "shop/productpage"
CHANNEL = "C111"
ALICE, BOB, DAVE = "UALICE", "UBOB", "UDAVE"
# the attest-only playbook, bob the one approver of `switch`
BOOK = ATTEST_ONLY.replace("users: [bob, carol]", f"users: [{BOB}]").replace(
    "users: [bob]", f"users: [{BOB}]"
)


def ctx_for(store: RedisStore, clock: ManualClock) -> Context:
    return context(store, clock, playbook=playbook.parse(BOOK, source="reconcile-playbook.yaml"))


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    app = serve(slack_api, ctx_for(store, clock))
    yield app
    app.stop()


def top_level(slack: SlackWebStandIn) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts", m["ts"]) == m["ts"]]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def say(app: ServedApp, text: str, *, user: str) -> None:
    """Type a command and wait until its work is done (the history has its entry)."""
    seen = len(app.ctx.store.history(SVC, limit=1000))
    assert app.command(text, user=user) == 200
    eventually(lambda: len(app.ctx.store.history(SVC, limit=1000)) > seen, what=text)
    app.settle()


def ask_for_approval(app: ServedApp) -> None:
    """alice starts and advances, dave attests: `switch` awaits bob's approval."""
    for text, user in (
        (f"start {SVC}", ALICE),
        (f"attest {SVC} ready", DAVE),
        (f"advance {SVC}", ALICE),
        (f"attest {SVC} announced in #eng", DAVE),
        (f"advance {SVC}", ALICE),
    ):
        say(app, text, user=user)


def tick(app: ServedApp) -> list[str]:
    """One scheduled reconcile tick, on the parts `serve` runs."""
    assert app.bot.slack is not None
    parts = app.bot.slack
    return reconcile.sweep_once_per_tick(
        ctx=app.ctx, publisher=parts.publisher, state=parts.state, pacer=parts.pacer
    )


def slack_errors(kind: str) -> float:
    value = observability.REGISTRY.get_sample_value(
        "meshgate_dependency_errors_total", {"dependency": "slack", "kind": kind}
    )
    return value or 0.0


def test_a_request_slack_answered_500_is_posted_once_slack_is_back(
    served: ServedApp, clock: ManualClock
) -> None:
    slack = served.slack
    slack.fail("chat.postMessage", times=1000)  # Slack is down for the whole conversation
    slack.fail("chat.update", times=1000)
    ask_for_approval(served)
    assert top_level(slack) == []

    before = slack_errors("SlackApiError")
    assert tick(served) == []  # still down: left for the next tick, counted, nothing raised
    assert slack_errors("SlackApiError") > before
    assert top_level(slack) == []

    slack.recover()
    clock.advance(reconcile.interval())
    assert tick(served) == [SVC]
    (message,) = top_level(slack)
    approve = [b for b in buttons(message) if b["action_id"] == blocks.APPROVE_ACTION]
    assert len(approve) == 1, "the approval request, with its button"
    assert json.loads(approve[0]["value"])["service"] == SVC
    notes = [r["text"] for r in slack.replies(CHANNEL, message["ts"])]
    assert any("your approval is requested" in n for n in notes), notes

    clock.advance(reconcile.interval())
    assert tick(served) == []  # in line: nothing more to post
    assert len(top_level(slack)) == 1


def test_an_approval_the_message_missed_is_shown_when_serve_starts_again(
    served: ServedApp, slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> None:
    ask_for_approval(served)
    (message,) = top_level(slack_api)
    assert buttons(message)
    pending = served.ctx.store.load(SVC)
    assert pending is not None and pending.request is not None
    # bob approves, and the process dies before the message is updated: no Publisher runs
    approved = dispatch.run(
        Approve(service=ServiceRef.parse(SVC), request_id=pending.request.id),
        actor=BOB,
        ctx=served.ctx,
    )
    assert approved.ok
    assert buttons(slack_api.message(CHANNEL, message["ts"]))

    with ExitStack() as stack:  # `meshgate serve` starts again
        open_bot(slack_api, ctx_for(store, clock), stack, schedule=True)
        shown = eventually(
            lambda: not buttons(m := slack_api.message(CHANNEL, message["ts"])) and m,
            what="the Approve button gone after the restart",
        )
    assert "approved by <@UBOB>" in json.dumps(shown["blocks"])
    assert len(top_level(slack_api)) == 1


def test_a_slack_call_hanging_past_the_timeout_gives_one_message_and_its_note(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> None:
    ctx = ctx_for(store, clock)
    state = SlackState(store.client)
    client = slack_app.web_client(token=TOKEN, base_url=slack_api.base_url, timeout=1)
    publisher = Publisher(client=client, state=state, ctx=ctx)
    started = dispatch.run(Start(service=ServiceRef.parse(SVC)), actor=ALICE, ctx=ctx)

    slack_api.answer_slowly(60)  # Slack takes the post, and answers long after the timeout
    publisher.changed(started, actor=ALICE, channel=CHANNEL)  # does not raise
    slack_api.answer_promptly()
    slack_api.wait_for_calls("chat.postMessage")  # the post landed although we timed out
    assert len(top_level(slack_api)) == 1

    pacer = Pacer(sleep=lambda _: None)
    assert reconcile.sweep(ctx=ctx, publisher=publisher, pacer=pacer) == [SVC]
    (message,) = top_level(slack_api)  # found by its metadata, not posted a second time
    notes = [r["text"] for r in slack_api.replies(CHANNEL, message["ts"])]
    assert len(notes) == 1 and notes[0].startswith("<@UALICE>: started shop/productpage"), notes
    assert state.message_of(SVC) is not None
    assert state.message_of(SVC).ts == message["ts"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "kind",
    ["approve", "reject"],
    ids=["approve-button", "reject-modal"],
)
def test_a_click_from_another_workspace_is_refused(served: ServedApp, kind: str) -> None:
    from tests.support import slack_requests

    slack = served.slack
    ask_for_approval(served)
    (message,) = top_level(slack)
    value = buttons(message)[0]["value"]
    if kind == "approve":
        ts = message["ts"]
        served.click(blocks.APPROVE_ACTION, value, user=BOB, channel=CHANNEL, ts=ts, team_id="T999")
    else:
        metadata = json.dumps({**json.loads(value), "channel": CHANNEL})
        body = slack_requests.view_submission_body(
            callback_id=blocks.REJECT_VIEW,
            values={blocks.REASON_BLOCK: {blocks.REASON_INPUT: {"value": "no"}}},
            user_id=BOB,
            private_metadata=metadata,
            team_id="T999",
        )
        assert served.send(body, content_type=slack_requests.FORM) == 200
    refusal = eventually(lambda: [e for e in slack.ephemerals if e["user"] == BOB])[-1]
    assert "not_authorized" in refusal["text"]
    assert "another Slack workspace" in refusal["text"]
    served.settle()
    after = served.ctx.store.load(SVC)
    assert after is not None and after.state == "awaiting_approval"
    assert buttons(slack.message(CHANNEL, message["ts"])), "the request stays open"
    history = dispatch.execute(f"history {SVC}", actor=BOB, ctx=served.ctx).history
    assert history is not None
    assert [(h.actor, h.action, h.outcome) for h in history][-1] == (
        BOB,
        kind,
        "not_authorized",
    )


def test_a_message_recorded_without_a_team_still_takes_clicks(served: ServedApp) -> None:
    slack = served.slack
    ask_for_approval(served)
    assert served.bot.slack is not None
    state = served.bot.slack.state
    ref = state.message_of(SVC)
    assert ref is not None and ref.team == "T111"
    state.remember_message(SVC, ref.__class__(ref.channel, ref.ts, version=ref.version))
    (message,) = top_level(slack)  # a ref stored before teams were recorded
    served.click(
        blocks.APPROVE_ACTION,
        buttons(message)[0]["value"],
        user=BOB,
        channel=CHANNEL,
        ts=message["ts"],
    )
    eventually(lambda: not buttons(slack.message(CHANNEL, message["ts"])), what="approved")


def test_stale_messages_in_one_channel_are_paced_and_messages_in_line_cost_nothing(
    served: ServedApp, clock: ManualClock
) -> None:
    slack = served.slack
    services = [SVC, "shop/reviews", "shop/ratings"]
    for service in services:
        assert served.command(f"start {service}", user=ALICE) == 200
    eventually(lambda: len(top_level(slack)) == 3, what="three rollout messages")
    served.settle()
    for service in services[:2]:  # changes the messages missed (a crash before each update)
        attested = dispatch.execute(f"attest {service} ready", actor=DAVE, ctx=served.ctx)
        assert attested.ok
    assert served.bot.slack is not None
    parts = served.bot.slack
    waits: list[float] = []
    pacer = Pacer(sleep=waits.append, monotonic=lambda: 0.0)
    updates = len(slack.calls_to("chat.update"))

    brought = reconcile.sweep(ctx=served.ctx, publisher=parts.publisher, pacer=pacer)
    assert sorted(brought) == sorted(services[:2])
    assert len(slack.calls_to("chat.update")) == updates + 2
    assert waits == [reconcile_pace()]  # the second update in the channel waited its turn
    for message in top_level(slack):
        assert "attested by" in json.dumps(message["blocks"]) or "ratings" in message["text"]

    assert reconcile.sweep(ctx=served.ctx, publisher=parts.publisher, pacer=pacer) == []
    assert len(slack.calls_to("chat.update")) == updates + 2  # in line: no call, no wait
    assert waits == [reconcile_pace()]


def reconcile_pace() -> float:
    from bot.slack import pacing

    return pacing.MESSAGE_INTERVAL_S


def test_while_slack_is_down_a_tick_makes_one_failing_call_not_one_per_rollout(
    served: ServedApp, clock: ManualClock
) -> None:
    slack = served.slack
    slack.fail("chat.postMessage", times=1000)
    services = [SVC, "shop/reviews", "shop/ratings"]
    for service in services:
        assert served.command(f"start {service}", user=ALICE) == 200
    served.settle()
    failed_before = [c for c in slack.calls if c.method == "chat.postMessage"]

    assert tick(served) == []

    failed = [c for c in slack.calls if c.method == "chat.postMessage"][len(failed_before) :]
    assert [c.status for c in failed] == [500]  # the sweep stopped at Slack's first 500
    slack.recover()
    clock.advance(reconcile.interval())
    assert sorted(tick(served)) == sorted(services)
    assert len(top_level(slack)) == 3
