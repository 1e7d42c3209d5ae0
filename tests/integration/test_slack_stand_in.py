"""The Slack stand-ins behave like Slack, as seen by the real slack_sdk and slack_bolt.

If these pass, an end-to-end test that drives the Bolt app through tests/support/slack_*.py and
socket_mode.py exercises the same client code paths it would against slack.com: the WebClient's
JSON and form encodings, its 429 retry handler, Bolt's signature check and payload parsing, and
the builtin Socket Mode client's handshake and acks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond, Say
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.support import reference, slack_requests, socket_mode
from tests.support.slack_api import SlackWebStandIn
from tests.support.socket_mode import SocketModeServer

# Until tests/conftest.py registers it for every test.
pytest_plugins = ["tests.support.slack_fixtures"]

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A111-1-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

PAYLOADS = reference.SLACK / "payloads"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*shop/checkout*: inject"}}


def client_for(api: SlackWebStandIn) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=api.base_url)


def eventually(check: Any, *, timeout: float = 5.0) -> None:
    """Wait for work Bolt does after the ack (it runs in a thread pool)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# -- Web API ---------------------------------------------------------------------------------


def test_post_then_update_keeps_the_current_message(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)

    posted = client.chat_postMessage(channel="C111", text="inject: checking", blocks=[SECTION])
    later = client.chat_postMessage(channel="C111", text="second")
    done = {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: done"}}
    updated = client.chat_update(
        channel="C111", ts=posted["ts"], text="inject: done", blocks=[done]
    )
    client.chat_update(channel="C111", ts=posted["ts"], text="inject: done again")

    assert posted["ok"] and updated["ok"]
    assert posted["ts"] < later["ts"]
    assert posted["message"]["blocks"] == [SECTION]
    assert (updated["channel"], updated["ts"], updated["text"]) == (
        "C111",
        posted["ts"],
        "inject: done",
    )
    current = slack_api.message("C111", posted["ts"])
    # chat.update without blocks keeps the previous ones, as Slack does.
    assert current["blocks"] == [done]
    assert current["text"] == "inject: done again"
    assert [m["ts"] for m in slack_api.messages("C111")] == [posted["ts"], later["ts"]]
    assert slack_api.calls_to("chat.update")[0]["blocks"] == [done]
    assert slack_api.calls[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_thread_replies_ephemerals_and_permalinks(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)
    parent = client.chat_postMessage(channel="C111", text="rollout shop/checkout")
    reply = client.chat_postMessage(channel="C111", text="details", thread_ts=parent["ts"])
    ephemeral = client.chat_postEphemeral(channel="C111", user="W222", text="usage: ...")
    link = client.chat_getPermalink(channel="C111", message_ts=parent["ts"])

    assert [m["ts"] for m in slack_api.replies("C111", parent["ts"])] == [reply["ts"]]
    assert ephemeral["message_ts"]
    assert slack_api.ephemerals[0]["user"] == "W222"
    assert slack_api.ephemerals[0]["text"] == "usage: ..."
    assert link["permalink"].endswith(f"/archives/C111/p{parent['ts'].replace('.', '')}")
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C111", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_missing_required_argument_is_a_recorded_violation(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)

    with pytest.raises(SlackApiError) as error:
        client.api_call("chat.postMessage", json={"text": "no channel"})

    assert error.value.response["error"] == "invalid_arguments"
    assert slack_api.calls_to("chat.postMessage") == [{"text": "no channel"}]
    violations = slack_api.take_violations()
    assert [(v.method, v.error) for v in violations] == [("chat.postMessage", "invalid_arguments")]
    assert "channel" in violations[0].detail


def test_unknown_method_is_a_recorded_violation(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)

    with pytest.raises(SlackApiError) as error:
        client.api_call("chat.postMessages", params={"channel": "C111"})

    assert error.value.response["error"] == "unknown_method"
    assert [v.error for v in slack_api.take_violations()] == ["unknown_method"]


def test_a_call_without_a_token_is_not_authed(slack_api: SlackWebStandIn) -> None:
    with pytest.raises(SlackApiError) as error:
        WebClient(base_url=slack_api.base_url).auth_test()

    assert error.value.response["error"] == "not_authed"
    assert [v.error for v in slack_api.take_violations()] == ["not_authed"]


def test_rate_limit_answers_429_with_retry_after(slack_api: SlackWebStandIn) -> None:
    slack_api.rate_limit("chat.postMessage", times=1, retry_after=7)

    with pytest.raises(SlackApiError) as error:
        client_for(slack_api).chat_postMessage(channel="C111", text="hi")

    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"
    assert error.value.response["error"] == "ratelimited"
    assert slack_api.calls_to("chat.postMessage") == []
    assert slack_api.messages("C111") == []


def test_a_failing_method_answers_5xx_and_does_nothing_until_recovered(
    slack_api: SlackWebStandIn,
) -> None:
    slack_api.fail("chat.postMessage", times=5)
    client = client_for(slack_api)

    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C111", text="during the outage")
    assert error.value.response.status_code == 500
    assert client.auth_test()["ok"]  # other methods answer
    slack_api.recover()
    posted = client.chat_postMessage(channel="C111", text="after it")

    assert [m["text"] for m in slack_api.messages("C111")] == ["after it"]
    assert [c["text"] for c in slack_api.calls_to("chat.postMessage")] == ["after it"]
    assert slack_api.message("C111", posted["ts"])["text"] == "after it"


def test_rate_limit_retry_handler_succeeds_after_retry_after(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    slack_api.rate_limit("chat.postMessage", times=1, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel="C111", text="after the limit")
    waited = time.monotonic() - started

    assert response["ok"]
    assert waited >= 1.0
    assert [c.status for c in slack_api.calls] == [429, 200]
    assert slack_api.message("C111", response["ts"])["text"] == "after the limit"


def test_views_publish_honours_hash(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)
    home = {"type": "home", "blocks": [SECTION]}

    first = client.views_publish(user_id="W111", view=home)
    with pytest.raises(SlackApiError) as conflict:
        client.views_publish(user_id="W111", view=home, hash="1596530361.stale")
    second = client.views_publish(user_id="W111", view=home, hash=first["view"]["hash"])

    assert conflict.value.response["error"] == "hash_conflict"
    assert second["view"]["id"] == first["view"]["id"]
    assert second["view"]["hash"] != first["view"]["hash"]
    assert slack_api.home_view("W111") == second["view"]
    assert slack_api.home_view("W222") is None


def test_usergroups_users_and_channels(slack_api: SlackWebStandIn) -> None:
    slack_api.set_usergroup("S0APPROVERS", ["W111", "W222"])
    slack_api.add_user("W222", name="bob", real_name="Bob Builder")
    slack_api.add_channel("C111", name="mesh-rollouts")
    client = client_for(slack_api)

    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == ["W111", "W222"]
    with pytest.raises(SlackApiError) as unknown_group:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert unknown_group.value.response["error"] == "no_such_subteam"
    assert client.users_info(user="W222")["user"]["real_name"] == "Bob Builder"
    with pytest.raises(SlackApiError) as unknown_user:
        client.users_info(user="W999")
    assert unknown_user.value.response["error"] == "user_not_found"
    assert client.conversations_info(channel="C111")["channel"]["name"] == "mesh-rollouts"
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == (
        slack_api.bot_user_id,
        slack_api.bot_id,
        slack_api.team_id,
    )


def test_file_upload_flow(slack_api: SlackWebStandIn) -> None:
    client = client_for(slack_api)

    response = client.files_upload_v2(
        channel="C111", content="p99 chart", filename="p99.txt", title="p99 latency"
    )

    file = response["file"]
    assert file["title"] == "p99 latency"
    assert file["channels"] == ["C111"]
    assert slack_api.files[file["id"]]["content"] == b"p99 chart"
    assert [c.method for c in slack_api.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


# -- signed requests -------------------------------------------------------------------------


def test_sign_matches_slacks_documented_example() -> None:
    # The worked example of docs.slack.dev/authentication/verifying-requests-from-slack.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )

    headers = slack_requests.sign(body, secret=SECRET, timestamp=1531420618)

    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


@pytest.mark.parametrize(
    ("tamper", "valid"),
    [
        pytest.param(lambda b, ts: (b, ts), True, id="as-signed"),
        pytest.param(lambda b, ts: (b.replace(b"status", b"abort"), ts), False, id="body-changed"),
        pytest.param(lambda b, ts: (b, ts - 301), False, id="older-than-five-minutes"),
    ],
)
def test_slack_sdk_verifies_our_signature(tamper: Any, valid: bool) -> None:
    now = int(time.time())
    body = slack_requests.slash_command_body(text="status shop/checkout")
    signed_body, signed_at = tamper(body, now)
    headers = slack_requests.sign(signed_body, secret=SECRET, timestamp=signed_at)

    assert SignatureVerifier(SECRET).is_valid_request(body, headers) is valid


def test_bodies_have_slacks_fields() -> None:
    command = parse_qs(slack_requests.slash_command_body(text="status shop/checkout").decode())
    action = json.loads(
        parse_qs(
            slack_requests.block_actions_body(
                action_id="approve", value="shop/checkout", message_ts="1700000000.000100"
            ).decode()
        )["payload"][0]
    )
    reference = PAYLOADS / "slash_command.json"
    expected_fields = set(json.loads(reference.read_text())["parsed"])

    assert expected_fields - {"enterprise_id", "enterprise_name"} <= set(command)
    assert command["command"] == ["/rollout"]
    assert action["container"]["message_ts"] == action["message"]["ts"] == "1700000000.000100"
    reference_action = json.loads((PAYLOADS / "block_actions.json").read_text())
    assert set(reference_action) <= set(action)


# -- a bare Bolt app over HTTP ---------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@pytest.fixture
def bolt_http(slack_api: SlackWebStandIn) -> Iterator[tuple[str, list[BoltRequest]]]:
    """A minimal Bolt app on 127.0.0.1 whose Web API is the stand-in; yields (url, requests)."""
    app = App(signing_secret=SECRET, client=client_for(slack_api))
    seen: list[BoltRequest] = []

    @app.command("/rollout")
    def rollout(ack: Ack, command: dict[str, Any], respond: Respond, request: BoltRequest) -> None:
        seen.append(request)
        ack(f"on it: {command['text']}")
        respond(text=f"status of {command['text']}")

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        respond(replace_original=True, text=f"approved by <@{body['user']['id']}>")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [SECTION]})

    @app.view("reject")
    def reject(ack: Ack, view: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["text"]["value"]
        ack(response_action="errors", errors={"reason": f"not enough: {reason}"})

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_bolt_acks_a_signed_slash_command_and_its_response_url_works(
    slack_api: SlackWebStandIn, bolt_http: tuple[str, list[BoltRequest]]
) -> None:
    url, seen = bolt_http
    response_url = slack_api.response_url(channel_id="C111", user_id="W111")
    body = slack_requests.slash_command_body(text="status shop/checkout", response_url=response_url)

    status, _, text = slack_requests.post(
        url, body, secret=SECRET, content_type=slack_requests.FORM, retry_num=1
    )

    assert (status, text) == (200, "on it: status shop/checkout")
    assert seen[0].headers["x-slack-retry-num"] == ["1"]
    assert seen[0].headers["x-slack-retry-reason"] == ["http_timeout"]
    slack_api.wait_for_response_posts()
    assert slack_api.ephemerals[0]["text"] == "status of status shop/checkout"
    assert slack_api.ephemerals[0]["user"] == "W111"


@pytest.mark.parametrize(
    ("timestamp_offset", "signature"),
    [
        pytest.param(0, "v0=" + "0" * 64, id="forged-signature"),
        pytest.param(-301, None, id="older-than-five-minutes"),
    ],
)
def test_bolt_refuses_bad_signatures(
    bolt_http: tuple[str, list[BoltRequest]], timestamp_offset: int, signature: str | None
) -> None:
    url, seen = bolt_http
    body = slack_requests.slash_command_body(text="abort shop/checkout")

    status, _, _ = slack_requests.post(
        url,
        body,
        secret=SECRET,
        content_type=slack_requests.FORM,
        timestamp=int(time.time()) + timestamp_offset,
        signature=signature,
    )

    assert status == 401
    assert seen == []


def test_bolt_handles_a_block_action_on_a_posted_message(
    slack_api: SlackWebStandIn, bolt_http: tuple[str, list[BoltRequest]]
) -> None:
    url, _ = bolt_http
    posted = client_for(slack_api).chat_postMessage(channel="C111", text="approve?")
    body = slack_requests.block_actions_body(
        action_id="approve",
        value="shop/checkout",
        user_id="W222",
        channel_id="C111",
        message_ts=posted["ts"],
        message=slack_api.message("C111", posted["ts"]),
        response_url=slack_api.response_url(
            channel_id="C111", user_id="W222", message_ts=posted["ts"]
        ),
    )

    status, _, _ = slack_requests.post(url, body, secret=SECRET, content_type=slack_requests.FORM)

    assert status == 200
    eventually(lambda: slack_api.message("C111", posted["ts"])["text"] != "approve?")
    assert slack_api.message("C111", posted["ts"])["text"] == "approved by <@W222>"


def test_bolt_handles_app_home_opened_and_view_submission(
    slack_api: SlackWebStandIn, bolt_http: tuple[str, list[BoltRequest]]
) -> None:
    url, _ = bolt_http
    event = slack_requests.event_callback_body(slack_requests.app_home_opened_event(user_id="W111"))
    submission = slack_requests.view_submission_body(
        callback_id="reject",
        values={"reason": {"text": {"type": "plain_text_input", "value": "too risky"}}},
    )

    event_status, _, _ = slack_requests.post(
        url, event, secret=SECRET, content_type=slack_requests.JSON
    )
    view_status, _, view_text = slack_requests.post(
        url, submission, secret=SECRET, content_type=slack_requests.FORM
    )

    assert event_status == 200
    slack_api.wait_for_calls("views.publish")
    assert view_status == 200
    assert json.loads(view_text) == {
        "response_action": "errors",
        "errors": {"reason": "not enough: too risky"},
    }


# -- Socket Mode -----------------------------------------------------------------------------


def test_socket_mode_client_receives_hello_and_acks(
    slack_api: SlackWebStandIn, socket_mode_server: SocketModeServer
) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=client_for(slack_api), auto_reconnect_enabled=False
    )
    got: list[SocketModeRequest] = []

    def listener(c: BaseSocketModeClient, request: SocketModeRequest) -> None:
        got.append(request)
        c.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ok"})
        )

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        fields = slack_requests.slash_command_fields(text="status shop/checkout")
        envelope = socket_mode.slash_commands_envelope(fields)
        ack = socket_mode_server.send(envelope)
    finally:
        client.close()

    assert ack == {"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}}
    assert got[0].type == "slash_commands"
    assert got[0].payload["text"] == "status shop/checkout"
    assert slack_api.calls_to("apps.connections.open") == [{}]
    assert slack_api.calls[0].token == APP_TOKEN


def test_apps_connections_open_needs_an_app_token(
    slack_api: SlackWebStandIn, socket_mode_server: SocketModeServer
) -> None:
    with pytest.raises(SlackApiError) as error:
        client_for(slack_api).apps_connections_open(app_token=BOT_TOKEN)

    assert error.value.response["error"] == "not_allowed_token_type"
    assert [v.error for v in slack_api.take_violations()] == ["not_allowed_token_type"]


def test_bolt_socket_mode_handler_round_trip(
    slack_api: SlackWebStandIn, socket_mode_server: SocketModeServer
) -> None:
    app = App(client=client_for(slack_api))
    posted: list[str] = []

    @app.command("/rollout")
    def rollout(ack: Ack, command: dict[str, Any], say: Say) -> None:
        ack(f"on it: {command['text']}")
        posted.append(say(f"rollout of {command['text']}")["ts"])

    @app.action("approve")
    def approve(ack: Ack) -> None:
        ack()

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    handler = SocketModeHandler(app, APP_TOKEN)
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        command = socket_mode.slash_commands_envelope(
            slack_requests.slash_command_fields(text="start shop/checkout")
        )
        command_ack = socket_mode_server.send(command)
        eventually(lambda: bool(posted))
        action = socket_mode.interactive_envelope(
            slack_requests.block_actions_payload(
                action_id="approve", value="shop/checkout", message_ts=posted[0]
            )
        )
        action_ack = socket_mode_server.send(action)
        event = socket_mode.events_api_envelope(
            slack_requests.event_callback_payload(slack_requests.app_home_opened_event())
        )
        event_ack = socket_mode_server.send(event)
        eventually(lambda: slack_api.home_view("W111") is not None)
    finally:
        handler.close()  # type: ignore[no-untyped-call]

    assert command_ack["payload"] == {"text": "on it: start shop/checkout"}
    assert action_ack == {"envelope_id": action["envelope_id"]}
    assert event_ack == {"envelope_id": event["envelope_id"]}
    assert slack_api.message("C111", posted[0])["text"] == "rollout of start shop/checkout"
