"""Issue 13, point 1: what reaches `meshgate serve` from outside before anything is parsed.

Over HTTP against the app as `meshgate serve` builds it (tests/support/slack_app.serve, waitress
with serve's limits): an oversized body is refused from its headers (413), an unsigned one is
refused before its body is parsed (401), and neither grows the process. The figures (time to the
refusal, peak RSS growth) are printed; run with `-s` to see them.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import gate
from bot.state.store import RedisStore
from tests.support import slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, serve

ATTACK_BYTES = 300 * 1024 * 1024
_CHUNK = b"x" * (64 * 1024)
_MB = 1024 * 1024


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    app = serve(slack_api, context(store, clock))
    yield app
    app.stop()


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _attack(url: str, *, chunked: bool) -> tuple[str, float]:
    """Send a 300 MB unsigned body the way an attacker would; the status line and seconds."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {ATTACK_BYTES}"
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
    )
    started = time.monotonic()
    sock.sendall(head.encode())

    def flood() -> None:
        piece = b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK) if chunked else _CHUNK
        try:
            for _ in range(ATTACK_BYTES // len(_CHUNK)):
                sock.sendall(piece)
        except OSError:
            pass  # the server closed the connection: what a refusal looks like to the sender

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    status = sock.makefile("rb").readline().decode().strip()
    elapsed = time.monotonic() - started
    sock.close()
    sender.join(timeout=30)
    return status, elapsed


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_300_mb_unsigned_body_is_refused_at_once_without_growing_the_process(
    served: ServedApp, chunked: bool
) -> None:
    _reset_peak_rss()
    before = _status_kb("VmRSS")
    status, elapsed = _attack(served.url, chunked=chunked)
    growth_mb = (_status_kb("VmHWM") - before) / 1024
    print(
        f"\n300 MB unsigned ({'chunked' if chunked else 'Content-Length'}): {status!r} "
        f"in {elapsed * 1000:.1f} ms, peak RSS growth {growth_mb:.1f} MB"
    )
    assert status.startswith("HTTP/1.1 413"), status
    assert elapsed < 0.1
    assert growth_mb < 10
    assert _work(served) == []  # nothing ran
    assert served.command("help", user="W111") == 200  # and the app still answers


def test_an_unsigned_body_is_refused_before_it_is_parsed(served: ServedApp) -> None:
    # a body Bolt cannot parse: today's code parses it first and answers 500
    status, _, text = slack_requests.post(
        served.url, b"token=x&text=help", secret="not-the-secret", content_type=slack_requests.JSON
    )
    assert status == 401, text
    # the expensive shape from the issue, kept under the size limit: a form of many parameters
    many = b"&".join(b"p%d=%d" % (i, i) for i in range(120_000))[: gate.MAX_BODY_BYTES]
    started = time.monotonic()
    status, _, _ = slack_requests.post(
        served.url, many, secret="not-the-secret", content_type=slack_requests.FORM
    )
    elapsed = time.monotonic() - started
    print(
        f"\n{len(many) / _MB:.2f} MB unsigned form of 120k parameters: {status} "
        f"in {elapsed * 1000:.1f} ms"
    )
    assert status == 401
    assert elapsed < 0.1
    assert _work(served) == []


def test_a_declared_length_over_the_limit_is_refused_with_413(served: ServedApp) -> None:
    # headers only: the refusal must come before any byte of the body is sent
    parts = urllib.parse.urlsplit(served.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: text/plain\r\n"
            f"Content-Length: {gate.MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        status = sock.makefile("rb").readline().decode()
    assert status.startswith("HTTP/1.1 413"), status


def _work(served: ServedApp) -> list[str]:
    """The Slack calls a request made (the bot's own auth.test at start is not one)."""
    served.settle()
    return [c.method for c in served.slack.calls if c.method != "auth.test"]
