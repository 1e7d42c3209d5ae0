"""The meshgate Slack app served over HTTP on 127.0.0.1, driven the way Slack drives it.

The bot is built by bot.wiring.open_bot, the function `meshgate serve` calls, from Settings
pointing at the Slack stand-in and the test's Redis.

Bolt's `app.start()` binds 0.0.0.0 and cannot be stopped, so the app is served through our
WSGI surface by waitress on a free loopback port, and stopped at the end of the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress.server
from pydantic import SecretStr
from slack_bolt import App
from waitress import wasyncore

from bot import wiring
from bot.settings import Settings
from bot.slack.config import check_slack_settings
from bot.slack.wsgi import WAITRESS_LIMITS, MeshgateWsgi
from bot.state.store import RedisStore
from bot.wiring import Bot
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

    bot: Bot
    slack: SlackWebStandIn
    stack: ExitStack
    url: str = ""
    _stop_server: Callable[[], None] | None = None
    statuses: list[int] = field(default_factory=list)

    @property
    def app(self) -> App:
        assert self.bot.slack is not None
        return self.bot.slack.app

    @property
    def ctx(self) -> Context:
        return self.bot.ctx

    def start(self) -> ServedApp:
        self.url, self._stop_server = serve_wsgi(MeshgateWsgi(self.app, signing_secret=SECRET))
        return self

    def settle(self) -> None:
        """Wait until every acked request's work is done (instead of sleeping)."""
        assert self.bot.slack is not None
        assert self.bot.slack.worker.wait_idle(), "the worker did not finish its jobs"

    def stop(self) -> None:
        self.settle()  # no work left that could still call Slack or Redis
        if self._stop_server is not None:
            self._stop_server()
        self.stack.close()  # stops the worker, then closes the store

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


def serve_wsgi(app: Any) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI app with waitress on a free loopback port; return its URL and a stop.

    Waitress gets the limits `meshgate serve` gives it (bot.slack.wsgi.WAITRESS_LIMITS).

    The loop runs in short turns until the stop asks it to end (as bot.cli.stopping runs it);
    the stop then waits for the loop thread, and only then closes the sockets, so nothing is
    closed under a running loop and no wake-up pipe is needed.
    """
    server: Any = waitress.server.create_server(
        app, host="127.0.0.1", port=0, threads=8, **WAITRESS_LIMITS
    )
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=run, daemon=True, name="waitress-loop")
    thread.start()

    def stop() -> None:
        server.task_dispatcher.shutdown()  # the request threads end first
        stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the test server's loop did not stop"
        wasyncore.close_all(server._map)  # the loop has ended: nothing uses them any more

    return f"http://127.0.0.1:{server.effective_port}/slack/events", stop


def open_bot(slack: SlackWebStandIn | str, ctx: Context, stack: ExitStack, **extra: Any) -> Bot:
    """The bot `meshgate serve` builds (bot.wiring.open_bot), talking to `slack`.

    `slack` is the stand-in (or its base URL); `ctx` gives what a test chooses: the Redis its
    store talks to, the clock, the playbook, the cluster, and the default approvers. `extra`
    adds settings (e.g. `alert_channel`) and open_bot's `sleep` / `monotonic` / `schedule`.
    """
    pacing = {k: extra.pop(k) for k in ("sleep", "monotonic", "schedule") if k in extra}
    base_url = slack if isinstance(slack, str) else slack.base_url
    assert isinstance(ctx.store, RedisStore)
    kwargs = ctx.store.client.connection_pool.connection_kwargs
    auth = f":{kwargs['password']}@" if kwargs.get("password") else ""
    settings = Settings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=base_url,
        redis_url=f"redis://{auth}{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}",
        **extra,
    )
    approvers = ctx.default_approvers
    return stack.enter_context(
        wiring.open_bot(
            settings,
            cluster=ctx.cluster,
            writer=ctx.writer,
            state_dir=Path("/nonexistent-state-dir"),
            slack=check_slack_settings(settings),
            clock=ctx.clock,
            playbook=ctx.playbook,
            default_approvers=tuple(sorted(approvers.users | approvers.groups)),
            **pacing,
        )
    )


def serve(slack: SlackWebStandIn, ctx: Context, **extra: Any) -> ServedApp:
    """Build the bot as `meshgate serve` does and serve it over HTTP on 127.0.0.1."""
    stack = ExitStack()
    bot = open_bot(slack, ctx, stack, **extra)
    return ServedApp(bot=bot, slack=slack, stack=stack).start()
