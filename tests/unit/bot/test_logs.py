"""Log lines: JSON with the request's correlation id, and never a token, whatever the format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs

TOKENS = ("xoxb-1234-5678-abcdEFGH", "xapp-1-A0-99-ffff", "s3cretpw", "eyJhbGciOi.J9.sig")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_correlation_id_of_the_request(captured: io.StringIO) -> None:
    logs.configure(fmt="json", level="INFO", stream=captured)
    log = logging.getLogger("meshgate.test")
    with logs.correlation("req-42"):
        log.info("approved %s", "shop/checkout")
    log.info("outside")

    inside, outside = (json.loads(line) for line in captured.getvalue().splitlines())
    assert inside["message"] == "approved shop/checkout"
    assert (inside["level"], inside["logger"], inside["correlation_id"]) == (
        "info",
        "meshgate.test",
        "req-42",
    )
    assert "correlation_id" not in outside
    assert inside["time"].endswith("+00:00")


@pytest.mark.parametrize(
    "fmt",
    ["json", "text"],
)
def test_no_token_reaches_the_log_in_messages_arguments_or_tracebacks(
    captured: io.StringIO, fmt: logs.LogFormat
) -> None:
    logs.configure(fmt=fmt, level="INFO", stream=captured)
    log = logging.getLogger("meshgate.test")
    log.warning("posting with token %s", TOKENS[0])
    log.warning("socket mode with xapp-1-A0-99-ffff failed")
    log.warning("redis at %s", "redis://:s3cretpw@redis.meshgate:6379/0")
    log.warning("headers %s", {"Authorization": "Bearer eyJhbGciOi.J9.sig"})
    try:
        raise RuntimeError(f"slack said no to {TOKENS[0]}")
    except RuntimeError:
        log.exception("call failed")

    text = captured.getvalue()
    assert not [token for token in TOKENS if token in text], text
    assert text.count("[redacted]") >= 5
    assert "redis.meshgate:6379" in text  # what is not secret stays readable


def test_a_malformed_request_id_is_replaced_not_logged() -> None:
    with logs.correlation("bad id\nwith newline") as chosen:
        assert chosen != "bad id\nwith newline" and len(chosen) == 12
        assert logs.current_correlation() == chosen
    assert logs.current_correlation() is None


def test_a_line_whose_arguments_do_not_fit_is_kept_and_redacted(captured: io.StringIO) -> None:
    logs.configure(fmt="json", level="INFO", stream=captured)
    logging.getLogger("meshgate.test").warning("token %s %s", TOKENS[0])  # one argument short

    (line,) = captured.getvalue().splitlines()
    assert "token %s %s" in json.loads(line)["message"]
    assert TOKENS[0] not in line
