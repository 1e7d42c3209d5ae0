"""The embedded redis-server's watchdog, on real servers in a state folder.

A killed server is restarted on the same folder with every acknowledged write; of the
processes sharing a folder exactly one restarts it; a hung one is left alone (a second server
on the same AOF would corrupt it) and still counts as live; one that cannot be restarted is
not live until its folder is repaired. The watchdog thread does this with nothing else
happening (an idle `serve`).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.state.embedded import EmbeddedRedis, EmbeddedRedisError
from bot.state.supervision import Health, Supervisor
from tests.support.serve_process import pids_under
from tests.support.slack_app import eventually


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "state")
    server.start()
    yield server
    for pid in pids_under(server.state_dir, name="redis-server"):
        os.kill(pid, signal.SIGCONT)  # a test that stopped it and failed
    server.stop()


def _client(embedded: EmbeddedRedis) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(embedded.socket), socket_timeout=2)


def _server(embedded: EmbeddedRedis) -> int:
    pids = pids_under(embedded.state_dir, name="redis-server")
    assert len(pids) == 1, pids
    return pids[0]


def _kill(embedded: EmbeddedRedis) -> int:
    """SIGKILL the server and wait until it is gone (the signal is delivered asynchronously:
    until then it still holds its socket and looks hung); its pid."""
    pid = _server(embedded)
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: _exited(pid), what=f"redis-server {pid} to die")
    return pid


def _exited(pid: int) -> bool:
    """Every thread of it has exited, so its files (the listening socket) are closed: reaped.
    (Its main thread turns zombie while Redis's other threads still hold the socket.)"""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid  # our child: started by EmbeddedRedis
    except ChildProcessError:
        return True  # reaped already


def test_a_killed_server_is_restarted_with_what_it_acknowledged(
    embedded: EmbeddedRedis,
) -> None:
    supervisor = Supervisor(embedded)
    client = _client(embedded)
    client.set("meshgate:test", "acknowledged")
    killed = _kill(embedded)

    assert supervisor.check() is Health.UP
    assert supervisor.restarts == 1
    assert _server(embedded) != killed
    assert client.get("meshgate:test") == b"acknowledged"
    client.close()


def test_of_two_processes_sharing_the_folder_exactly_one_restarts_it(
    embedded: EmbeddedRedis,
) -> None:
    sharer = EmbeddedRedis(embedded.state_dir)
    sharer.start()  # reuses the running server
    supervisors = [Supervisor(embedded), Supervisor(sharer)]
    _kill(embedded)

    barrier = threading.Barrier(len(supervisors))

    def check(supervisor: Supervisor) -> None:
        barrier.wait()
        supervisor.check()

    threads = [threading.Thread(target=check, args=(s,)) for s in supervisors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [s.health for s in supervisors] == [Health.UP, Health.UP]
    assert sum(s.restarts for s in supervisors) == 1
    assert len(pids_under(embedded.state_dir, name="redis-server")) == 1
    sharer.stop()


def test_a_hung_server_is_left_alone_and_live(embedded: EmbeddedRedis) -> None:
    supervisor = Supervisor(embedded)
    hung = _server(embedded)
    os.kill(hung, signal.SIGSTOP)
    try:
        assert supervisor.check() is Health.HUNG
        assert supervisor.live()
        with pytest.raises(EmbeddedRedisError, match="alive but does not answer"):
            EmbeddedRedis(embedded.state_dir).start()  # a new meshgate on the same folder
        assert pids_under(embedded.state_dir, name="redis-server") == [hung]
    finally:
        os.kill(hung, signal.SIGCONT)
    assert supervisor.check() is Health.UP
    assert supervisor.restarts == 0


def test_a_server_hung_past_the_limit_is_killed_and_replaced_with_what_it_acknowledged(
    embedded: EmbeddedRedis,
) -> None:
    """Stuck for good (SIGSTOP that nobody resumes): after `hung_limit` the watchdog kills it
    (only it: the process that holds the socket) and starts a new one on the same AOF."""
    now = [0.0]
    supervisor = Supervisor(embedded, hung_limit=30.0, clock=lambda: now[0])
    _client(embedded).set("meshgate:test", "kept")
    hung = _server(embedded)
    os.kill(hung, signal.SIGSTOP)
    assert supervisor.check() is Health.HUNG
    now[0] = 29.0
    assert supervisor.check() is Health.HUNG  # under the limit: left alone
    assert pids_under(embedded.state_dir, name="redis-server") == [hung]
    now[0] = 31.0
    assert supervisor.check() is Health.UP
    assert supervisor.restarts == 1
    assert _exited(hung) or hung not in pids_under(embedded.state_dir, name="redis-server")
    (replacement,) = pids_under(embedded.state_dir, name="redis-server")
    assert replacement != hung
    assert _client(embedded).get("meshgate:test") == b"kept"


def test_a_server_that_cannot_be_restarted_is_not_live_until_repaired(
    embedded: EmbeddedRedis,
) -> None:
    supervisor = Supervisor(embedded)
    _client(embedded).set("meshgate:test", "kept")
    aof = embedded.state_dir / "appendonly.aof"
    kept = embedded.state_dir / "kept.aof"
    os.link(aof, kept)
    broken = embedded.state_dir / "broken.aof"
    broken.write_bytes(b"this is not an append-only file\r\n")
    broken.replace(aof)
    _kill(embedded)

    assert supervisor.check() is Health.FAILED
    assert not supervisor.live()
    assert "redis.log" in supervisor.problem

    kept.replace(aof)
    assert supervisor.check() is Health.UP
    assert supervisor.live()
    assert _client(embedded).get("meshgate:test") == b"kept"


def test_the_watchdog_restarts_a_killed_server_with_nothing_else_happening(
    embedded: EmbeddedRedis,
) -> None:
    supervisor = Supervisor(embedded, interval=0.05)
    supervisor.start()
    try:
        killed = _kill(embedded)
        eventually(lambda: supervisor.restarts == 1, what="the watchdog to restart the server")
        assert _client(embedded).ping()
    finally:
        supervisor.stop()
    assert _server(embedded) != killed


def test_the_last_process_out_stops_the_server_at_once(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "state")
    server.start()
    started = time.monotonic()
    server.stop()  # waited ~4.4 s on redis-py's retries of SHUTDOWN's closed connection
    assert time.monotonic() - started < 1.0
    assert pids_under(server.state_dir, name="redis-server") == []


def test_a_hung_server_with_a_full_accept_queue_is_not_taken_for_dead(
    embedded: EmbeddedRedis,
) -> None:
    """A long SIGSTOP fills the socket's accept queue; connecting then fails with EAGAIN, not
    'refused': starting a second server then would corrupt the AOF."""
    supervisor = Supervisor(embedded)
    hung = _server(embedded)
    os.kill(hung, signal.SIGSTOP)
    queued: list[socket.socket] = []
    try:
        while True:  # connect until the queue is full (Redis listens with a backlog of 511)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(str(embedded.socket))
            except BlockingIOError:
                s.close()
                break
            queued.append(s)
        assert supervisor.check() is Health.HUNG
        assert pids_under(embedded.state_dir, name="redis-server") == [hung]
    finally:
        for s in queued:
            s.close()
        os.kill(hung, signal.SIGCONT)
    assert len(queued) > 100
    # resumed, it first works through the queued connections
    eventually(lambda: supervisor.check() is Health.UP, what="the resumed server to answer")
