"""The Slack app end to end: signed requests in over HTTP, Web API calls out to a stand-in.

The app under test is the real Bolt app (bot.slack.app.build_app) on a real Redis, served by
waitress on 127.0.0.1; Slack is tests/support/slack_api.py, which checks every call against
Slack's Web API spec.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack import blocks, expiry
from bot.state.store import RedisStore
from commands import dispatch
from tests.support import reference, slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import DEMO_MESH, context
from tests.support.playbooks import ATTEST_ONLY
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve
from workflows import playbook

SVC = "shop/productpage"
CHANNEL = "C111"
ALICE, BOB, CAROL, ERIN, MALLORY = "UALICE", "UBOB", "UCAROL", "UERIN", "UMALLORY"
DAVE = "UDAVE"  # attests: the one who asks for approval may not vouch for the gate alone
SLACK_PLAYBOOK = ATTEST_ONLY.replace("users: [bob, carol]", f"users: [{BOB}, {CAROL}]").replace(
    "users: [bob]", f"users: [{BOB}]"
)


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    slack_api.set_usergroup("SPLATFORM", [ERIN])
    book = playbook.parse(SLACK_PLAYBOOK, source="slack-playbook.yaml")
    app = serve(slack_api, context(store, clock, playbook=book))
    yield app
    app.stop()


def rollout_message(slack: SlackWebStandIn) -> dict[str, Any]:
    """The rollout's one top-level message in the channel."""
    top = [m for m in slack.messages(CHANNEL) if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
    assert len(top) == 1, f"expected one rollout message, found {len(top)}"
    return top[0]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []))


def ephemerals_to(slack: SlackWebStandIn, user: str) -> list[dict[str, Any]]:
    return [e for e in slack.ephemerals if e["user"] == user]


def wait_ephemeral(slack: SlackWebStandIn, user: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = eventually(
        lambda: (found := ephemerals_to(slack, user)) and len(found) >= count and found,
        what=f"{count} ephemeral(s) to {user}",
    )
    return found


def say(app: ServedApp, text: str, *, user: str) -> None:
    """Type a command and wait until the rollout's history has its entry (work runs after ack)."""
    seen = len(app.ctx.store.history(SVC, limit=1000))
    assert app.command(text, user=user) == 200
    eventually(lambda: len(app.ctx.store.history(SVC, limit=1000)) > seen, what=text)


def to_pending(app: ServedApp, slack: SlackWebStandIn) -> dict[str, Any]:
    """alice starts and advances twice, dave attests: phase `switch` awaits approval."""
    for text in (
        f"start {SVC}",
        f"attest {SVC} ready",
        f"advance {SVC}",
        f"attest {SVC} announced in #eng",
        f"advance {SVC}",
    ):
        say(app, text, user=DAVE if text.startswith("attest") else ALICE)
    pending: dict[str, Any] = eventually(
        lambda: buttons(m := rollout_message(slack)) and m, what="approval buttons"
    )
    return pending


def test_start_posts_one_message_that_updates_in_place(served: ServedApp) -> None:
    slack = served.slack
    assert served.command(f"start {SVC}", user=ALICE) == 200
    message = eventually(lambda: slack.messages(CHANNEL), what="rollout message")[0]
    assert "Rollout shop/productpage" in text_of(message)
    assert served.command(f"attest {SVC} ready team agreed", user=ALICE) == 200
    eventually(lambda: "attested by" in text_of(slack.message(CHANNEL, message["ts"])))
    assert rollout_message(slack)["ts"] == message["ts"]  # updated, not reposted
    thread = eventually(
        lambda: len(r := slack.replies(CHANNEL, message["ts"])) == 2 and r, what="thread notes"
    )
    assert thread[0]["text"].startswith("<@UALICE>: started shop/productpage")
    assert "attested ready by UALICE: team agreed" in thread[1]["text"]


def test_approval_buttons_refuse_self_and_outsider_then_one_approval_moves_the_phase(
    served: ServedApp,
) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    approve = next(b for b in buttons(message) if b["action_id"] == blocks.APPROVE_ACTION)
    assert approve["confirm"]["title"]["text"] == "Approve this change?"
    assert "peer-authentication STRICT" in text_of(message)
    ts = message["ts"]

    served.click(blocks.APPROVE_ACTION, approve["value"], user=ALICE, channel=CHANNEL, ts=ts)
    own = wait_ephemeral(slack, ALICE, 1)[-1]
    assert "self_approval" in own["text"]
    served.click(blocks.APPROVE_ACTION, approve["value"], user=MALLORY, channel=CHANNEL, ts=ts)
    outsider = wait_ephemeral(slack, MALLORY, 1)[-1]
    assert "not_authorized" in outsider["text"]
    assert buttons(slack.message(CHANNEL, ts)), "a refused click leaves the request open"

    served.click(blocks.APPROVE_ACTION, approve["value"], user=BOB, channel=CHANNEL, ts=ts)
    decided = eventually(
        lambda: not buttons(m := slack.message(CHANNEL, ts)) and m, what="buttons replaced"
    )
    assert "approved by <@UBOB>" in text_of(decided)
    assert "`lock`" in text_of(decided)

    served.click(blocks.APPROVE_ACTION, approve["value"], user=CAROL, channel=CHANNEL, ts=ts)
    late = wait_ephemeral(slack, CAROL, 1)[-1]
    assert "already_decided" in late["text"]

    history = dispatch.execute(f"history {SVC}", actor=BOB, ctx=served.ctx).history
    assert history is not None
    refusals = [(h.actor, h.outcome) for h in history if h.action == "approve"]
    assert refusals == [
        (ALICE, "self_approval"),
        (MALLORY, "not_authorized"),
        (BOB, "ok"),
        (CAROL, "already_decided"),
    ]


def test_a_user_group_member_approves(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    value = buttons(message)[0]["value"]
    served.click(blocks.APPROVE_ACTION, value, user=BOB, channel=CHANNEL, ts=message["ts"])
    eventually(lambda: "`lock`" in text_of(slack.message(CHANNEL, message["ts"])))
    say(served, f"attest {SVC} done", user=DAVE)
    say(served, f"advance {SVC}", user=ALICE)
    pending = eventually(lambda: buttons(m := slack.message(CHANNEL, message["ts"])) and m)
    value = buttons(pending)[0]["value"]
    served.click(blocks.APPROVE_ACTION, value, user=BOB, channel=CHANNEL, ts=message["ts"])
    eventually(lambda: "1/2" in json.dumps(slack.replies(CHANNEL, message["ts"])))
    served.click(blocks.APPROVE_ACTION, value, user=ERIN, channel=CHANNEL, ts=message["ts"])
    eventually(lambda: "completed" in text_of(slack.message(CHANNEL, message["ts"])))
    assert slack.calls_to("usergroups.users.list")[0]["usergroup"] == "SPLATFORM"


def test_a_failed_group_lookup_is_could_not_check_not_not_an_approver(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    value = buttons(message)[0]["value"]
    served.click(blocks.APPROVE_ACTION, value, user=BOB, channel=CHANNEL, ts=message["ts"])
    eventually(lambda: "`lock`" in text_of(slack.message(CHANNEL, message["ts"])))
    say(served, f"attest {SVC} done", user=DAVE)
    say(served, f"advance {SVC}", user=ALICE)
    pending = eventually(lambda: buttons(m := slack.message(CHANNEL, message["ts"])) and m)
    value = buttons(pending)[0]["value"]
    slack.rate_limit("usergroups.users.list", times=4, retry_after=0)  # past the 3 retries
    served.click(blocks.APPROVE_ACTION, value, user=ERIN, channel=CHANNEL, ts=message["ts"])
    answer = wait_ephemeral(slack, ERIN, 1)[-1]
    said = answer["text"] + json.dumps(answer.get("blocks", []))
    assert "could not check group membership" in said and "not an approver" not in said
    last = eventually(lambda: served.ctx.store.history(SVC, limit=1))[-1]
    assert (last.actor, last.action, last.outcome) == (ERIN, "approve", "unavailable")
    served.click(blocks.APPROVE_ACTION, value, user=ERIN, channel=CHANNEL, ts=message["ts"])
    eventually(lambda: "1/2" in json.dumps(slack.replies(CHANNEL, message["ts"])))  # counted


def test_fifty_simultaneous_clicks_give_one_transition(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    value = buttons(message)[0]["value"]
    before = served.ctx.store.load(SVC)
    assert before is not None
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        statuses.append(
            served.click(blocks.APPROVE_ACTION, value, user=user, channel=CHANNEL, ts=message["ts"])
        )

    threads = [threading.Thread(target=click, args=(BOB if i % 2 else CAROL,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 50
    eventually(lambda: len(slack.ephemerals) == 49, what="49 refusals", timeout=30)
    after = served.ctx.store.load(SVC)
    # one approval, then meshgate's own verification of the change it applied
    assert after is not None and after.version == before.version + 2
    assert (after.phase, after.state) == ("lock", "in_progress")
    assert all("already_decided" in e["text"] for e in slack.ephemerals)


def test_reject_asks_why_and_escapes_the_reason(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    reject = next(b for b in buttons(message) if b["action_id"] == blocks.REJECT_ACTION)
    served.click(
        blocks.REJECT_ACTION, reject["value"], user=CAROL, channel=CHANNEL, ts=message["ts"]
    )
    modal = eventually(lambda: slack.opened_views, what="reject modal")[-1]
    assert modal["callback_id"] == blocks.REJECT_VIEW
    body = slack_requests.view_submission_body(
        callback_id=blocks.REJECT_VIEW,
        values={
            blocks.REASON_BLOCK: {
                blocks.REASON_INPUT: {
                    "type": "plain_text_input",
                    "value": "<!channel> & <@U0BOSS> not now",
                }
            }
        },
        user_id=CAROL,
        private_metadata=modal["private_metadata"],
    )
    assert served.send(body, content_type=slack_requests.FORM) == 200
    rejected = eventually(
        lambda: not buttons(m := slack.message(CHANNEL, message["ts"])) and m, what="rejection"
    )
    shown = text_of(rejected) + json.dumps(slack.replies(CHANNEL, message["ts"]))
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; not now" in shown
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown


def test_an_expired_request_says_so(served: ServedApp, clock: ManualClock) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    clock.advance(timedelta(hours=2))
    served.click(
        blocks.APPROVE_ACTION,
        buttons(message)[0]["value"],
        user=BOB,
        channel=CHANNEL,
        ts=message["ts"],
    )
    refusal = wait_ephemeral(slack, BOB, 1)[-1]
    assert "expired" in refusal["text"]
    updated = eventually(lambda: not buttons(m := slack.message(CHANNEL, message["ts"])) and m)
    assert "expired at 2026-11-25T11:00:00Z" in text_of(updated)


def test_an_expired_request_says_so_without_a_click(
    served: ServedApp, clock: ManualClock, store: RedisStore
) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    assert served.bot.slack is not None
    publisher, state = served.bot.slack.publisher, served.bot.slack.state  # the ones serve runs
    assert expiry.sweep(ctx=served.ctx, publisher=publisher) == []  # not yet
    clock.advance(timedelta(hours=1, minutes=1))
    replicas = [
        expiry.sweep_once_per_tick(ctx=served.ctx, publisher=publisher, state=state)
        for _ in range(3)
    ]  # three replicas on the same minute: one sweeps
    assert replicas == [[SVC], [], []]
    updated = slack.message(CHANNEL, message["ts"])
    assert not buttons(updated)
    assert "expired at 2026-11-25T11:00:00Z" in text_of(updated)


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"signature": "v0=" + "0" * 64}, "forged signature"),
        ({"timestamp": int(time.time()) - 6 * 60}, "older than five minutes"),
    ],
    ids=["forged", "stale"],
)
def test_unsigned_or_stale_requests_get_401_and_do_nothing(
    served: ServedApp, kw: dict[str, Any], why: str
) -> None:
    body = slack_requests.slash_command_body(text=f"start {SVC}", user_id=ALICE)
    status = served.send(body, content_type=slack_requests.FORM, **kw)
    assert status == 401, why
    served.settle()  # an accepted request's work is queued before its ack: none ran, none waits
    assert served.ctx.store.load(SVC) is None
    assert not [c for c in served.slack.calls if c.method.startswith("chat.")]


def test_a_slack_retry_does_not_repeat_the_action(served: ServedApp) -> None:
    slack = served.slack
    body = slack_requests.slash_command_body(text=f"start {SVC}", user_id=ALICE)
    assert served.send(body, content_type=slack_requests.FORM) == 200
    eventually(lambda: slack.messages(CHANNEL))
    assert served.send(body, content_type=slack_requests.FORM, retry_num=1) == 200
    served.settle()  # the retry's work was queued before its ack, and has run by now
    assert not slack.ephemerals
    posted = [c for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c]
    assert len(posted) == 1
    history = dispatch.execute(f"history {SVC}", actor=BOB, ctx=served.ctx).history
    assert history is not None and [h.action for h in history] == ["start"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("frobnicate", "unknown command"),
        (f"status {SVC}", "no rollout for shop/productpage"),
        ("help", "snooze ALERT DURATION"),
        ("list", "No rollouts yet"),
        ("start Shop/x", "not a valid Kubernetes name"),
        (f"metrics {SVC}", "unavailable"),
        ("audit shop/ratings", "mTLS STRICT · authz default deny"),
        (f"history {SVC}", "no history for shop/productpage"),
        ("ack a1b2", "no alert a1b2"),
        ("snooze a1b2 2h", "no alert a1b2"),
    ],
    ids=[
        "unknown-verb",
        "status-missing",
        "help",
        "list",
        "bad-name",
        "metrics",
        "audit",
        "history-missing",
        "ack",
        "snooze",
    ],  # fmt: skip
)
def test_read_only_verbs_and_errors_answer_only_the_asker(
    served: ServedApp, text: str, says: str
) -> None:
    assert served.command(text, user=CAROL) == 200
    answer = wait_ephemeral(served.slack, CAROL, 1)[-1]
    assert says in answer["text"] + json.dumps(answer.get("blocks", []), ensure_ascii=False)
    assert not served.slack.messages(CHANNEL)


def test_replies_reach_the_asker_where_the_bot_is_not_a_member(served: ServedApp) -> None:
    slack = served.slack
    slack.strict_channels = True  # the bot was never invited to C999: postEphemeral fails
    url = slack.response_url(channel_id="C999", user_id=CAROL)
    assert served.command("help", user=CAROL, channel="C999", response_url=url) == 200
    posted = eventually(lambda: slack.response_posts, what="response URL post")
    assert posted[0].user_id == CAROL and posted[0].body["response_type"] == "ephemeral"
    assert "snooze ALERT DURATION" in json.dumps(posted[0].body["blocks"])

    url = slack.response_url(channel_id="C999", user_id=ALICE)
    served.command(f"start {SVC}", user=ALICE, channel="C999", response_url=url)
    started = eventually(lambda: len(slack.response_posts) == 2 and slack.response_posts[1])
    assert "invite the bot to this channel" in json.dumps(started.body)
    assert served.ctx.store.load(SVC) is not None


def test_a_slack_refusal_that_is_not_membership_does_not_say_invite_the_bot(
    served: ServedApp,
) -> None:
    slack = served.slack
    slack.rate_limit("chat.postMessage", times=4, retry_after=0)  # past the client's 3 retries
    url = slack.response_url(channel_id=CHANNEL, user_id=ALICE)
    served.command(f"start {SVC}", user=ALICE, response_url=url)
    started = wait_ephemeral(slack, ALICE, 1)[-1]
    said = started["text"] + json.dumps(started.get("blocks", []))
    assert "invite the bot" not in said
    assert "Slack did not take the rollout's message: ratelimited" in said
    assert served.ctx.store.load(SVC) is not None


def test_typed_approve_and_reject_and_history(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    say(served, f"reject {SVC} <!here> wait for the freeze to end", user=CAROL)
    rejected = eventually(lambda: not buttons(m := slack.message(CHANNEL, message["ts"])) and m)
    assert "rejected by <@UCAROL>" in text_of(rejected)
    assert "&lt;!here&gt; wait for the freeze to end" in text_of(rejected)
    say(served, f"advance {SVC}", user=ALICE)
    eventually(lambda: buttons(slack.message(CHANNEL, message["ts"])))
    say(served, f"approve {SVC}", user=BOB)
    eventually(lambda: "`lock`" in text_of(slack.message(CHANNEL, message["ts"])))
    assert served.command(f"history {SVC}", user=CAROL) == 200
    history = wait_ephemeral(slack, CAROL, 1)[-1]
    shown = json.dumps(history["blocks"])
    assert "<@UCAROL> *reject*" in shown and "<@UBOB> *approve*" in shown


def test_rollback_and_abort_update_the_message(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    served.click(
        blocks.APPROVE_ACTION,
        buttons(message)[0]["value"],
        user=BOB,
        channel=CHANNEL,
        ts=message["ts"],
    )
    eventually(lambda: "`lock`" in text_of(slack.message(CHANNEL, message["ts"])))
    say(served, f"rollback {SVC}", user=CAROL)
    eventually(lambda: "rolled back" in text_of(slack.message(CHANNEL, message["ts"])))
    served.command(f"abort {SVC} wrong cluster", user=CAROL)
    eventually(lambda: "aborted" in text_of(slack.message(CHANNEL, message["ts"])))


def test_web_api_429_is_waited_out(served: ServedApp) -> None:
    served.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    served.command(f"start {SVC}", user=ALICE)
    eventually(lambda: served.slack.messages(CHANNEL), what="message after the 429")
    limited = [c for c in served.slack.calls if c.method == "chat.postMessage" and c.status == 429]
    assert len(limited) == 1


def test_app_home_lists_rollouts_and_publishes_with_hash(served: ServedApp) -> None:
    slack = served.slack
    to_pending(served, slack)
    event = slack_requests.app_home_opened_event(user_id=BOB)
    body = slack_requests.event_callback_body(event)
    assert served.send(body, content_type=slack_requests.JSON) == 200
    view = eventually(lambda: slack.home_view(BOB), what="home view")
    shown = json.dumps(view["blocks"])
    assert "shop/productpage" in shown and "1 approval(s) pending" in shown
    assert "No open alerts" in shown
    body = slack_requests.event_callback_body(slack_requests.app_home_opened_event(user_id=BOB))
    served.send(body, content_type=slack_requests.JSON)
    eventually(lambda: len(slack.calls_to("views.publish")) == 2)
    first, second = slack.calls_to("views.publish")
    assert "hash" not in first and second["hash"]


SPEC = reference.SLACK / "slack_web_openapi_v2.json"
MANIFESTS = Path(__file__).resolve().parents[2] / "deploy"


# The app reads the history of channels only (bot/slack/posting.py), never of direct messages.
_DIRECT_MESSAGE_HISTORY = frozenset({"im:history", "mpim:history"})


def test_the_manifest_asks_for_exactly_the_scopes_the_app_uses(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    value = buttons(message)[0]["value"]
    served.click(blocks.APPROVE_ACTION, value, user=ALICE, channel=CHANNEL, ts=message["ts"])
    served.click(blocks.REJECT_ACTION, value, user=BOB, channel=CHANNEL, ts=message["ts"])
    served.send(
        slack_requests.event_callback_body(slack_requests.app_home_opened_event(user_id=BOB)),
        content_type=slack_requests.JSON,
    )
    eventually(lambda: slack.home_view(BOB) and slack.opened_views and slack.ephemerals)
    served.ctx.directory.groups_of(ERIN, candidates=["SPLATFORM"])  # type: ignore[union-attr]
    used = {c.method for c in slack.calls if c.status == 200}
    used.add("conversations.history")  # after a post that timed out (test_slack_reconcile.py)
    paths = json.loads(SPEC.read_text())["paths"]
    needed = {"commands"}  # the slash command itself
    for method in used - {"auth.test"}:
        for operation in paths[f"/{method}"].values():
            scopes = {s for sec in operation.get("security", []) for s in sec.get("slackAuth", [])}
            bot_scopes = {s.removesuffix(":bot") for s in scopes if not s.endswith(":user")}
            needed |= bot_scopes - {"none"} - _DIRECT_MESSAGE_HISTORY
    for name in ("slack-app-manifest.yaml", "slack-app-manifest.socket-mode.yaml"):
        manifest = yaml.safe_load((MANIFESTS / name).read_text())
        assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed, name
        assert manifest["features"]["slash_commands"][0]["command"] == "/rollout"
        assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
        assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_message_follows_the_checks_when_someone_asks_for_status(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock, tmp_path: Path
) -> None:
    mesh = tmp_path / "mesh"
    shutil.copytree(DEMO_MESH, mesh)
    services = mesh / "10-bookinfo.yaml"
    named = services.read_text()
    services.write_text(named.replace("name: http", "name: web"))  # no protocol prefix
    book = playbook.default()
    app = serve(slack_api, context(store, clock, playbook=book, manifests=mesh, applied=False))
    try:
        say(app, f"start {SVC}", user=ALICE)
        message = eventually(lambda: slack_api.messages(CHANNEL))[0]
        assert "port 9080 'web' of Service shop/productpage has no protocol" in text_of(message)

        services.write_text(named)  # someone fixes the port names
        updates = len(slack_api.calls_to("chat.update"))
        assert app.command(f"status {SVC}", user=BOB) == 200
        eventually(lambda: len(slack_api.calls_to("chat.update")) > updates, what="update")
        fixed = slack_api.message(CHANNEL, message["ts"])
        assert "ports declare their protocol: http (9080)" in text_of(fixed)

        assert app.command(f"status {SVC}", user=BOB) == 200  # nothing changed this time
        wait_ephemeral(slack_api, BOB, 2)
        assert len(slack_api.calls_to("chat.update")) == updates + 1
    finally:
        app.stop()


def test_user_text_in_an_error_never_pings_anyone(served: ServedApp) -> None:
    # the notification text (top-level `text`) is shown and parsed for mentions like the blocks
    assert served.command(f"attest {SVC} <!channel> <@U0BOSS>", user=ALICE) == 200
    (refusal,) = wait_ephemeral(served.slack, ALICE, 1)
    shown = refusal["text"] + json.dumps(refusal.get("blocks", []))
    assert "&lt;!channel&gt;" in shown
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown


def test_a_click_from_another_channel_is_refused(served: ServedApp) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    value = buttons(message)[0]["value"]
    # an approver's click, carrying the rollout's button value, but not on its message
    assert served.click(blocks.APPROVE_ACTION, value, user=BOB, channel="C999", ts="1.000") == 200
    (refusal,) = wait_ephemeral(slack, BOB, 1)
    assert "not_authorized" in refusal["text"]
    served.settle()
    after = served.ctx.store.load(SVC)
    assert after is not None and after.state == "awaiting_approval"
    assert buttons(slack.message(CHANNEL, message["ts"])), "the request stays open"


def test_a_request_names_its_approvers_and_the_thread_mentions_them_once(
    served: ServedApp,
) -> None:
    slack = served.slack
    message = to_pending(served, slack)
    assert "approval(s) from <@UBOB> <@UCAROL>" in text_of(message)
    notes = eventually(
        lambda: [
            m["text"]
            for m in slack.messages(CHANNEL)
            if m.get("thread_ts") == message["ts"] and "<@UBOB>" in m["text"]
        ],
        what="thread note to the approvers",
    )
    assert len(notes) == 1 and "<@UBOB> <@UCAROL>: your approval is requested" in notes[0]


def test_a_request_without_a_change_says_what_is_signed_off(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> None:
    book = playbook.parse(
        SLACK_PLAYBOOK.replace(
            "    change: {kind: peer-authentication, mode: STRICT}\n", ""
        ).replace("users: [UBOB, UCAROL]", "users: [UBOB], groups: [SPLATFORM]"),
        source="no-change.yaml",
    )
    app = serve(slack_api, context(store, clock, playbook=book))
    try:
        message = to_pending(app, slack_api)
        shown = text_of(message)
        assert "Signs off (no change is applied):* announced: attested by UDAVE" in shown
        assert "from <@UBOB> <!subteam^SPLATFORM>" in shown
    finally:
        app.stop()
