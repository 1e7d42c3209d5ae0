"""The meshgate Slack app served over HTTP on 127.0.0.1, driven the way Slack drives it.

Bolt's `app.start()` binds 0.0.0.0 and cannot be stopped, so the app is served through our
WSGI surface by waitress on a free loopback port, and stopped at the end of the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import waitress.server
from slack_bolt import App

from bot.slack.app import build_app, web_client
from bot.slack.directory import SlackDirectory
from bot.slack.state import SlackState
from bot.slack.wsgi import MeshgateWsgi
from bot.state.store import RedisStore
from commands.context import Context
from tests.support import slack_requests
from tests.support.slack_api import SlackWebStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"


def eventually(check: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> Any:
    """Poll `check` until it returns something truthy (the app works after its ack)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


@dataclass
class ServedApp:
    """A running app with helpers that send signed Slack requests to it."""

    app: App
    slack: SlackWebStandIn
    ctx: Context
    url: str = ""
    _server: Any = None
    _thread: threading.Thread | None = None
    statuses: list[int] = field(default_factory=list)

    def start(self) -> ServedApp:
        self._server = waitress.server.create_server(
            MeshgateWsgi(self.app), host="127.0.0.1", port=0, threads=8
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}/slack/events"
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def command(self, text: str, *, user: str, channel: str = "C111", **kw: Any) -> int:
        """`/rollout TEXT` typed by `user`; returns the HTTP status of the ack."""
        body = slack_requests.slash_command_body(text=text, user_id=user, channel_id=channel, **kw)
        return self.send(body, content_type=slack_requests.FORM)

    def click(
        self, action_id: str, value: str, *, user: str, channel: str, ts: str, **kw: Any
    ) -> int:
        """A button click on the message at `ts`."""
        body = slack_requests.block_actions_body(
            action_id=action_id, value=value, user_id=user, channel_id=channel, message_ts=ts, **kw
        )
        return self.send(body, content_type=slack_requests.FORM)

    def send(self, body: bytes, *, content_type: str, **kw: Any) -> int:
        status, _, _ = slack_requests.post(
            self.url, body, secret=SECRET, content_type=content_type, **kw
        )
        self.statuses.append(status)
        return status


def build(slack: SlackWebStandIn, ctx: Context) -> tuple[App, Context]:
    """The real app over `ctx` (with Slack user groups as its directory), talking to `slack`."""
    client = web_client(token=TOKEN, base_url=slack.base_url)
    store = ctx.store
    assert isinstance(store, RedisStore)
    ctx = Context(
        store=store,
        playbook=ctx.playbook,
        clock=ctx.clock,
        cluster=ctx.cluster,
        directory=SlackDirectory(client),
        default_approvers=ctx.default_approvers,
        read_only_cluster=ctx.read_only_cluster,
    )
    app = build_app(
        client=client,
        signing_secret=SECRET,
        ctx=ctx,
        state=SlackState(store.client),
        slash_command="/rollout",
    )
    return app, ctx


def serve(slack: SlackWebStandIn, ctx: Context) -> ServedApp:
    """Build the real app and serve it over HTTP on 127.0.0.1."""
    app, ctx = build(slack, ctx)
    return ServedApp(app=app, slack=slack, ctx=ctx).start()
