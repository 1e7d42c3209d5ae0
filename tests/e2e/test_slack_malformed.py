"""Issue 13, point 7: malformed requests get a 4xx with one short log line, never a 500.

Over HTTP against the app as `meshgate serve` builds it. Unsigned requests with a broken
timestamp, a JSON content type over a form, and a table of signed but malformed `payload`s.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack import blocks
from bot.state.store import RedisStore
from tests.support import slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, serve

HELP = slack_requests.slash_command_body(text="help")
CLICK = slack_requests.block_actions_payload(
    action_id=blocks.APPROVE_ACTION, value="x", message_ts="1.2"
)


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    app = serve(slack_api, context(store, clock))
    yield app
    app.stop()


def _short_logs(caplog: pytest.LogCaptureFixture) -> None:
    """What an operator reads per bad request: short lines, no traceback."""
    for record in caplog.records:
        assert record.exc_info is None, f"traceback logged: {record.getMessage()[:200]}"
        assert len(record.getMessage()) < 200, record.getMessage()[:200]


def _raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as e:
        with e:
            return e.code


@pytest.mark.parametrize("timestamp", ["abc", "", "1e3", "-5", "12.5"])
def test_a_malformed_timestamp_is_a_401(
    served: ServedApp, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.INFO)
    headers = {
        "Content-Type": slack_requests.FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    assert _raw_post(served.url, HELP, headers) == 401
    _short_logs(caplog)
    assert _work(served) == []


def test_an_unsigned_body_that_is_not_utf8_is_a_400(
    served: ServedApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {
        "Content-Type": slack_requests.FORM,
        "X-Slack-Request-Timestamp": "1700000000",
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    assert _raw_post(served.url, b"text=\xff\xfe", headers) == 400
    _short_logs(caplog)


def test_json_content_type_over_a_form_is_a_400(
    served: ServedApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert served.send(HELP, content_type=slack_requests.JSON) == 400
    _short_logs(caplog)


def _payload(**changes: Any) -> bytes:
    return urlencode({"payload": json.dumps({**CLICK, **changes})}).encode()


MALFORMED = {
    "payload not JSON": urlencode({"payload": "{not json"}).encode(),
    "payload a list": urlencode({"payload": "[1, 2]"}).encode(),
    "payload a string": urlencode({"payload": '"block_actions"'}).encode(),
    "payload null": urlencode({"payload": "null"}).encode(),
    "payload nested 100000 deep": urlencode({"payload": "[" * 100_000}).encode(),
    "body not UTF-8": b"payload=%7B%7D&x=\xff\xfe",
    "JSON body a list": b"[1]",
    "user a string": _payload(user="W111"),
    "user null": _payload(user=None),
    "team a number": _payload(team=5),
    "channel a list": _payload(channel=[]),
    "container a string": _payload(container="x"),
    "actions a string": _payload(actions="approve"),
    "actions empty": _payload(actions=[]),
    "action not an object": _payload(actions=["approve"]),
    "action without id": _payload(actions=[{"value": "x", "type": "button"}]),
    "action value a number": _payload(actions=[{"action_id": blocks.APPROVE_ACTION, "value": 5}]),
    "type a number": _payload(type=5),
    "type unknown": _payload(type="no_such_type"),
    "enterprise a string": _payload(enterprise="E1"),
    "view a string": _payload(type="view_submission", view="x"),
    "view state a list": _payload(type="view_submission", view={"state": [], "callback_id": "x"}),
    "message a string": _payload(message="x"),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_malformed_payload_is_never_a_500_and_logs_short(
    served: ServedApp, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    content_type = slack_requests.JSON if body.startswith(b"[") else slack_requests.FORM
    status = served.send(body, content_type=content_type)
    served.settle()
    assert status < 500, status  # 4xx, or acked and then refused in Slack as any bad click is
    _short_logs(caplog)


def _work(served: ServedApp) -> list[str]:
    """The Slack calls a request made (the bot's own auth.test at start is not one)."""
    served.settle()
    return [c.method for c in served.slack.calls if c.method != "auth.test"]
