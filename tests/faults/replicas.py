"""`meshgate serve` processes for the fault suite: replicas on one Redis, killed at will."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import slack_requests
from tests.support.redis_server import free_port
from tests.support.serve_process import healthy
from tests.support.slack_app import SECRET, TOKEN, eventually

MESHGATE = str(Path(sys.executable).with_name("meshgate"))


@dataclass
class Replica:
    """One `meshgate serve` process on loopback, with the settings the test gives it."""

    env: dict[str, str]
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_")}
        env = {
            **clean,
            "MESHGATE_SLACK_BOT_TOKEN": TOKEN,
            "MESHGATE_SLACK_SIGNING_SECRET": SECRET,
            **self.env,
        }
        command = [MESHGATE, "serve", *self.args, "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        eventually(lambda: self._up(), timeout=30, what="meshgate serve to listen")
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            output = self.process.stdout.read() if self.process.stdout else ""
            raise AssertionError(f"meshgate serve exited {self.process.returncode}: {output}")
        return healthy(self.base)

    def command(self, text: str, *, user: str, channel: str = "C111") -> int:
        """`/rollout TEXT` typed by `user`, signed as Slack signs it; the ack's status."""
        body = slack_requests.slash_command_body(text=text, user_id=user, channel_id=channel)
        status, _, _ = slack_requests.post(
            self.base + "/slack/events", body, secret=SECRET, content_type=slack_requests.FORM
        )
        return status

    def kill(self) -> None:
        """SIGKILL: no drain, no clean-up, as when a node dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> str:
        """SIGTERM and wait; the process's output."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output
