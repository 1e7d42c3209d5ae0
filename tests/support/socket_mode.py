"""A Socket Mode server for tests: the WebSocket end of Slack that a Socket Mode app dials.

In Socket Mode an app calls `apps.connections.open` with its app-level token, connects to the
WebSocket URL it gets back, receives `hello`, and from then on Slack pushes envelopes
(`slash_commands`, `interactive`, `events_api`) over the socket; the app answers each with an
ack `{"envelope_id": ..., "payload": ...}` (docs.slack.dev/apis/events-api/using-socket-mode).
This server plays Slack's part on a free port of 127.0.0.1 (DESIGN.md, "Real parts in tests"):
the Web API stand-in (tests/support/slack_api.py) hands out its `url`, the real slack_sdk
SocketModeClient (used by Bolt's SocketModeHandler) connects, and a test calls `send(envelope)`
to push one envelope and get the app's ack back.

Envelope and `hello` shapes follow tests/reference/slack/payloads
(socket_mode_envelopes.json, socket_mode_hello.json); `*_envelope` functions build them around
the payloads of tests/support/slack_requests.py.

Approximations: one server, any number of connections, each envelope goes to the newest live
connection (Slack picks one of them); there is no ticket check and no periodic refresh, but a
test can ask for a `disconnect` message to exercise reconnection.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

Envelope = dict[str, Any]


def hello_message(*, app_id: str, num_connections: int) -> dict[str, Any]:
    """The first message on every connection, as in payloads/socket_mode_hello.json."""
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "applink-111-xxx",
            "build_number": 10,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": app_id},
    }


def slash_commands_envelope(
    fields: Mapping[str, str], *, envelope_id: str | None = None
) -> Envelope:
    """A slash command pushed over the socket (fields as `slack_requests.slash_command_fields`)."""
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": dict(fields),
        "type": "slash_commands",
        "accepts_response_payload": True,
    }


def interactive_envelope(payload: Mapping[str, Any], *, envelope_id: str | None = None) -> Envelope:
    """A block action, view submission or shortcut pushed over the socket."""
    # Slack lets the ack carry a response only where HTTP would (view submissions' errors).
    accepts = payload.get("type") == "view_submission"
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": dict(payload),
        "type": "interactive",
        "accepts_response_payload": accepts,
    }


def events_api_envelope(
    payload: Mapping[str, Any],
    *,
    envelope_id: str | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> Envelope:
    """An Events API `event_callback` pushed over the socket, possibly as Slack's retry."""
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": dict(payload),
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    }


class SocketModeServer:
    """Slack's Socket Mode WebSocket endpoint on a free loopback port. Thread-safe."""

    def __init__(self, *, app_id: str = "A111") -> None:
        self.app_id = app_id
        self.received: list[dict[str, Any]] = []  # every message a client sent, in order
        self.connection_count = 0  # connections accepted so far
        self._cond = threading.Condition()
        self._connections: list[ServerConnection] = []
        self._handler_threads: list[threading.Thread] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> SocketModeServer:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="socket-mode-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection, stop listening and wait for the server's threads."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._cond:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for connection in connections:
            connection.close()
        for thread in threads:
            thread.join()
        if server is not None and sys.platform != "win32":
            # websockets' sync Server leaves its shutdown pipe open.
            os.close(server.shutdown_watcher)
            os.close(server.shutdown_notifier)

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """A connection URL like the one apps.connections.open returns (ws://, not wss://)."""
        if self._server is None:
            raise RuntimeError("the Socket Mode server is not started")
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4()}&app_id={self.app_id}"

    # -- talking to the app ------------------------------------------------------------------

    @property
    def live_connections(self) -> int:
        """How many clients are connected now."""
        with self._cond:
            return len(self._connections)

    def wait_for_connection(self, *, timeout: float = 5.0, count: int = 1) -> None:
        """Block until at least `count` connections were ever accepted and one is live."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.connection_count < count or not self._connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no Socket Mode client connected within {timeout}s")
                self._cond.wait(left)

    def push(self, envelope: Mapping[str, Any], *, timeout: float = 5.0) -> None:
        """Send an envelope to the newest live connection without waiting for its ack."""
        self.wait_for_connection(timeout=timeout)
        with self._cond:
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """Block until the client acks `envelope_id`; returns the ack as the client sent it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self._acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no ack for envelope {envelope_id} within {timeout}s")
                self._cond.wait(left)
            return dict(self._acks[envelope_id])

    def send(self, envelope: Mapping[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
        """Push an envelope and return the client's ack (`{"envelope_id": ..., "payload"?}`)."""
        self.push(envelope, timeout=timeout)
        return self.wait_for_ack(str(envelope["envelope_id"]), timeout=timeout)

    def request_disconnect(self, *, reason: str = "refresh_requested") -> None:
        """Tell every connected client to reconnect, as Slack does before it drops a socket."""
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-111-xxx"}}
        )
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            connection.send(message)

    # -- server side -------------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self._handler_threads.append(threading.current_thread())
            live = len(self._connections) + 1
        try:
            # `hello` goes first; only then may `push` pick this connection.
            connection.send(json.dumps(hello_message(app_id=self.app_id, num_connections=live)))
            with self._cond:
                self._connections.append(connection)
                self.connection_count += 1
                self._cond.notify_all()
            for raw in connection:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsed": raw if isinstance(raw, str) else raw.decode(errors="replace")}
        with self._cond:
            self.received.append(message)
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if isinstance(envelope_id, str):
                self._acks[envelope_id] = message
            self._cond.notify_all()
