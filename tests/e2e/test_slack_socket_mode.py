"""Socket Mode: the same app over a WebSocket that a local server opens as Slack would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.support import slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import eventually, open_bot
from tests.support.socket_mode import (
    SocketModeServer,
    events_api_envelope,
    slash_commands_envelope,
)

SVC = "shop/productpage"


@pytest.fixture
def connected(
    slack_api: SlackWebStandIn,
    socket_mode_server: SocketModeServer,
    store: RedisStore,
    clock: ManualClock,
) -> Iterator[tuple[App, Context]]:
    with ExitStack() as stack:
        bot = open_bot(slack_api, context(store, clock), stack)
        assert bot.slack is not None
        app = bot.slack.app
        handler = SocketModeHandler(app, "xapp-1-test", web_client=app.client)
        handler.connect()  # type: ignore[no-untyped-call]
        socket_mode_server.wait_for_connection()
        yield app, bot.ctx
        handler.close()  # type: ignore[no-untyped-call]


def test_a_slash_command_over_the_socket_is_acked_and_acted_on(
    connected: tuple[App, Context],
    slack_api: SlackWebStandIn,
    socket_mode_server: SocketModeServer,
) -> None:
    _, ctx = connected
    fields = slack_requests.slash_command_fields(text=f"start {SVC}", user_id="UALICE")
    ack = socket_mode_server.send(slash_commands_envelope(fields, envelope_id="env-1"))
    assert ack["envelope_id"] == "env-1"
    posted = eventually(lambda: slack_api.messages("C111"), what="rollout message")
    assert "Rollout shop/productpage" in str(posted[0]["blocks"])
    rollout = ctx.store.load(SVC)
    assert rollout is not None and rollout.started_by == "UALICE"


def test_a_retried_event_envelope_acts_once(
    connected: tuple[App, Context],
    slack_api: SlackWebStandIn,
    socket_mode_server: SocketModeServer,
) -> None:
    _, ctx = connected
    dispatch.execute(f"start {SVC}", actor="UALICE", ctx=ctx)
    payload = slack_requests.event_callback_payload(
        slack_requests.app_home_opened_event(user_id="UBOB"), event_id="Ev0001"
    )
    socket_mode_server.send(events_api_envelope(payload))
    eventually(lambda: slack_api.home_view("UBOB"), what="home view")
    socket_mode_server.send(events_api_envelope(payload, retry_attempt=1, retry_reason="timeout"))
    # the retry is acked and dropped; a later, different event is still served
    other = slack_requests.event_callback_payload(
        slack_requests.app_home_opened_event(user_id="UCAROL"), event_id="Ev0002"
    )
    socket_mode_server.send(events_api_envelope(other))
    eventually(lambda: slack_api.home_view("UCAROL"), what="second user's home view")
    assert [c["user_id"] for c in slack_api.calls_to("views.publish")] == ["UBOB", "UCAROL"]
