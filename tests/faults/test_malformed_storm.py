"""Fault 7: a thousand seeded random malformed commands and payloads, signed and unsigned.

Over HTTP against the app as `meshgate serve` builds it, with a rollout awaiting approval in
Redis. Nothing is a 5xx; every unsigned request is refused 401; every signed command is
acked and answered with an error; every signed payload is refused 4xx or acked; Redis holds
the same keys and values afterwards (delivery claims aside: they are how Slack's retries are
recognised); and the app still answers a `help` at the end.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import redis

from bot.slack import alert_blocks, blocks
from bot.slack.listeners.views import MALFORMED_FORM as REJECT_FORM_REFUSAL
from bot.state.store import RedisStore
from tests.e2e.test_slack_app import SLACK_PLAYBOOK, to_pending
from tests.faults import malformed
from tests.support import slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import SECRET, ServedApp, eventually, serve
from workflows import playbook
from workflows.errors import ErrorCode

SEED = 12_06
REQUESTS = 1000
CLAIMS = b"meshgate:delivery:"  # Slack delivery claims (TTL'd), written by design per request


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    book = playbook.parse(SLACK_PLAYBOOK, source="slack-playbook.yaml")
    app = serve(slack_api, context(store, clock, playbook=book))
    yield app
    app.stop()


def dump(client: redis.Redis) -> dict[bytes, bytes | None]:
    """Every key but delivery claims, with its serialized value (DUMP)."""
    return {
        key: client.dump(key)
        for key in sorted(client.scan_iter(count=1000))
        if not key.startswith(CLAIMS)
    }


def answers_to(slack: SlackWebStandIn, user: str) -> list[str]:
    """The text of every answer `user` got."""
    texts = [str(e.get("text", "")) for e in slack.ephemerals if e["user"] == user]
    return texts + [str(p.body.get("text", "")) for p in slack.response_posts if p.user_id == user]


def an_error(text: str) -> bool:
    """An answer that is a refusal: it starts with its error code (`usage: ...`)."""
    return text.split(":", 1)[0] in {code.value for code in ErrorCode}


def test_a_thousand_malformed_requests_crash_nothing_and_change_nothing(
    served: ServedApp, redis_url: str, figure: Callable[[str, str], None]
) -> None:
    to_pending(served, served.slack)
    served.settle()
    raw = redis.Redis.from_url(redis_url)
    before = dump(raw)
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    owed: Counter[str] = Counter()  # user -> acked requests still to be answered in Slack
    in_modal = 0  # modal submissions refused in the ack itself (shown in the modal)
    for i in range(REQUESTS):
        user = f"UFZ{i:04d}"
        signed = rng.random() >= 0.1
        if rng.random() < 0.6:
            kind = "command"
            body = slack_requests.slash_command_body(text=malformed.command_text(rng), user_id=user)
            content_type = slack_requests.FORM
            answerable: str | None = user
        else:
            kind = "payload"
            body, content_type = malformed.payload_body(rng, user)
            answerable = malformed.sender(body)
        signature = None if signed else rng.choice(("", "v0=" + "0" * 64, "v1=abc"))
        status, _, text = slack_requests.post(
            served.url, body, secret=SECRET, content_type=content_type, signature=signature
        )
        outcomes[f"{kind} {'signed' if signed else 'unsigned'} {status}"] += 1
        assert status < 500, (kind, body[:300])
        if not signed:
            assert status == 401, (kind, status)
        if kind == "command" and signed:
            assert status == 200, (status, body[:300])  # a command is always acked...
        if status != 200:
            continue
        if '"response_action": "errors"' in text:
            in_modal += 1
            continue
        assert answerable, f"acked a payload that names no user to answer: {body[:300]!r}"
        owed[answerable] += 1
    served.settle()

    unanswered = {  # ...and every acked request answered to its sender with an error
        user: owed[user] - errors
        for user in owed
        if (errors := sum(map(an_error, answers_to(served.slack, user)))) < owed[user]
    }
    assert unanswered == {}, f"acked but never answered: {sorted(unanswered)[:10]}"
    assert served.slack.take_violations() == [], "the app called Slack with what it was sent"

    after = dump(raw)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == [], f"malformed requests changed Redis: {changed[:10]}"

    assert served.command("help", user="UAFTER") == 200
    eventually(lambda: answers_to(served.slack, "UAFTER"), what="an answer after the storm")
    raw.close()
    refused = sum(n for outcome, n in outcomes.items() if outcome.split()[-1].startswith("4"))
    figure(
        "malformed-storm",
        f"{REQUESTS} seeded random requests (seed {SEED}): "
        + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        + f"; 0 5xx; {refused} refused 4xx, {owed.total() + in_modal} acked and each answered "
        f"with an error ({in_modal} in the modal); Redis unchanged ({len(before)} keys, "
        f"delivery claims aside); the app answered `help` afterwards",
    )


CLICK = slack_requests.block_actions_payload(
    action_id=blocks.APPROVE_ACTION, value="x", user_id="UROW", message_ts="1.2"
)
ALERT_CLICK = {**CLICK, "actions": [{**CLICK["actions"][0], "action_id": alert_blocks.ACK_ACTION}]}
UNANSWERABLE = {
    "approve, user id a number": {**CLICK, "user": {"id": -1}},
    "approve, user id empty": {**CLICK, "user": {"id": ""}},
    "approve, no channel": {**CLICK, "channel": None, "container": {"type": "message"}},
    "alert ack, channel id a number": {**ALERT_CLICK, "channel": {"id": 0}, "container": {}},
    "alert ack, user id a list": {**ALERT_CLICK, "user": {"id": ["U1"]}},
}


@pytest.mark.parametrize("payload", UNANSWERABLE.values(), ids=UNANSWERABLE.keys())
def test_a_click_that_names_no_user_or_channel_is_refused_400_not_acked(
    served: ServedApp, payload: dict[str, object]
) -> None:
    body = slack_requests.interaction_body(payload)
    assert served.send(body, content_type=slack_requests.FORM) == 400
    served.settle()
    assert [c.method for c in served.slack.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize(
    "metadata", ["", "{}", '{"service": "shop/productpage"}', '{"service": "x", "request": "r"}']
)
def test_a_reject_form_meshgate_did_not_open_is_answered_in_the_form(
    served: ServedApp, metadata: str
) -> None:
    body = slack_requests.view_submission_body(
        callback_id=blocks.REJECT_VIEW,
        values={blocks.REASON_BLOCK: {blocks.REASON_INPUT: {"value": "no"}}},
        user_id="UROW",
        private_metadata=metadata,
    )
    status, _, text = slack_requests.post(
        served.url, body, secret=SECRET, content_type=slack_requests.FORM
    )
    assert status == 200
    assert json.loads(text) == {
        "response_action": "errors",
        "errors": {blocks.REASON_BLOCK: REJECT_FORM_REFUSAL},
    }
