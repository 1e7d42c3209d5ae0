"""Two consoles on one state folder share its embedded Redis safely: two real processes.

The first console to start runs the server; the second reuses it. When the first exits, the
second keeps working on the same state (before, the first stopped the server under it); when
the last one exits, the server stops, and the state is on disk for the next console.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import redis

from tests.e2e.test_console import env_for, state_dir  # noqa: F401 - the fixture

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo_mesh"
SVC = "shop/productpage"


class Console:
    """A `meshgate console --format json` process, one command in, one reply out."""

    def __init__(self, state: Path, actor: str) -> None:
        self.process = subprocess.Popen(
            [MESHGATE, "console", "--manifests", str(DEMO), "--format", "json", "--as", actor],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(state),
        )

    def ask(self, line: str) -> dict[str, Any]:
        stdin, stdout = self._pipes()
        stdin.write(line + "\n")
        stdin.flush()
        reply = stdout.readline()  # waits for the reply: the event that proves it ran
        assert reply, self.process.stderr.read() if self.process.stderr else "no reply"
        return dict(json.loads(reply))

    def quit(self) -> str:
        stdin, _ = self._pipes()
        stdin.close()
        assert self.process.wait(timeout=30) == 0
        return self.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self.close()

    def close(self) -> str:
        """Close the pipes; the process's stderr."""
        err = self.process.stderr.read() if self.process.stderr else ""
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
        return err

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        return self.process.stdin, self.process.stdout


def answers(socket: Path) -> bool:
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def test_the_second_console_keeps_working_after_the_first_exits(state_dir: Path) -> None:  # noqa: F811
    first = Console(state_dir, "alice")
    assert first.ask(f"start {SVC}")["ok"]
    second = Console(state_dir, "alice")  # the same person in another terminal: may abort
    status = second.ask(f"status {SVC}")
    assert status["ok"] and status["rollout"]["started_by"] == "alice"

    assert "Traceback" not in first.quit()
    after = second.ask(f"abort {SVC} drill")  # a write, after the first console left

    assert after["ok"], after
    assert answers(state_dir / "redis.sock")
    assert "Traceback" not in second.quit()
    assert not answers(state_dir / "redis.sock"), "the last console out stops the server"
    assert list((state_dir / "clients").iterdir()) == []

    third = Console(state_dir, "carol")
    assert third.ask(f"status {SVC}")["rollout"]["state"] == "aborted"  # kept on disk
    third.quit()


def test_a_killed_consoles_lease_does_not_keep_the_server(state_dir: Path) -> None:  # noqa: F811
    killed = Console(state_dir, "alice")
    assert killed.ask(f"start {SVC}")["ok"]
    survivor = Console(state_dir, "bob")
    assert survivor.ask(f"status {SVC}")["ok"]
    killed.kill()
    assert (state_dir / "clients" / str(killed.process.pid)).exists()

    assert survivor.ask(f"status {SVC}")["ok"]
    survivor.quit()

    assert not answers(state_dir / "redis.sock")
    assert os.listdir(state_dir / "clients") == []
