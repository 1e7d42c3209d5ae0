"""A real `meshgate serve --demo` process on its embedded Redis, driven over HTTP as Slack would.

For tests that do things to the process's redis-server (kill -9, SIGSTOP, a corrupt AOF): the
server is found by its socket in the state folder, the replies are read from the Slack
stand-in (`chat.postEphemeral`, one distinct user per command so each reply is found).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support import slack_requests
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import SECRET, TOKEN, eventually

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
_users = itertools.count(500)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(state_dir: Path, slack: SlackWebStandIn, **settings: str) -> dict[str, str]:
    """This process's environment without MESHGATE_ settings, then meshgate's for the test."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_")}
    return {
        **clean,
        "MESHGATE_STATE_DIR": str(state_dir),
        "MESHGATE_SLACK_BOT_TOKEN": TOKEN,
        "MESHGATE_SLACK_API_URL": slack.base_url,
        **settings,
    }


def healthy(base: str) -> bool:
    """True when a meshgate server at `base` answers /healthz with 200."""
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as r:  # noqa: S310
            return bool(r.status == 200)
    except OSError:
        return False


def pids_under(folder: Path, *, name: str = "") -> list[int]:
    """Live processes (this one aside) whose command line mentions `folder` (and `name`)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(folder) in cmdline and name in cmdline and state != "Z":
            found.append(int(proc.name))
    return sorted(found)


def _shown(call: Mapping[str, Any]) -> str:
    """A message's notification text, then its blocks as JSON (where the details are)."""
    blocks = call.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return f"{call['text']}\n{json.dumps(blocks)}"


class ServeProcess:
    """`meshgate serve --demo` on `state_dir`, talking to `slack`; a context manager."""

    def __init__(self, slack: SlackWebStandIn, state_dir: Path) -> None:
        self.slack = slack
        self.state_dir = state_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = serve_env(state_dir, slack, MESHGATE_SLACK_SIGNING_SECRET=SECRET)
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            [MESHGATE, "serve", "--demo", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def __enter__(self) -> ServeProcess:
        eventually(lambda: self.get("/healthz")[0] == 200, timeout=30, what="serve to listen")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()

    def get(self, path: str) -> tuple[int, str]:
        """GET `path`: (status, body); (0, reason) when nothing answers."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:  # noqa: S310
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as e:
            with e:
                return int(e.code), e.read().decode()
        except OSError as e:
            return 0, str(e)

    def redis_pid(self) -> int:
        """The pid of the one redis-server serving the state folder."""
        pids = pids_under(self.state_dir, name="redis-server")
        assert len(pids) == 1, f"redis-servers on {self.state_dir}: {pids}"
        return pids[0]

    def command(self, text: str) -> str:
        """Send `/rollout TEXT` as a fresh user; that user's id (to find the reply)."""
        user = f"W{next(_users)}"
        body = slack_requests.slash_command_body(text=text, user_id=user)
        status, _, _ = slack_requests.post(
            self.base + "/slack/events", body, secret=SECRET, content_type=slack_requests.FORM
        )
        assert status == 200, f"/rollout {text} was answered {status}"
        return user

    def reply_to(self, user: str, *, timeout: float = 30.0) -> str:
        """The ephemeral reply shown to `user` (its text, then its blocks), once it came."""

        def found() -> str:
            calls = self.slack.calls_to("chat.postEphemeral")
            return next((_shown(c) for c in calls if str(c["user"]) == user), "")

        return str(eventually(found, timeout=timeout, what=f"the reply to {user}"))

    def ask(self, text: str, *, timeout: float = 30.0) -> tuple[str, float]:
        """Send a command and wait for its reply: (reply text, seconds from send to reply)."""
        started = time.monotonic()
        user = self.command(text)
        reply = self.reply_to(user, timeout=timeout)
        return reply, time.monotonic() - started
