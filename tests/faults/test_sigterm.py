"""Fault 6: SIGTERM with requests in flight, as tests/e2e/test_serve_sigterm.py drives it.

That test is run again here, unchanged (its fixtures passed in), so its counts become one of
the suite's figure lines: every acked command answered, exit 0, nothing left running.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import test_serve_sigterm
from tests.support.slack_api import SlackWebStandIn

_SAID = re.compile(r"SIGTERM with work in flight: (\d+) acked, (\d+) refused; exit (-?\d+)")


def test_sigterm_during_in_flight_requests(
    slack_api: SlackWebStandIn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    figure: Callable[[str, str], None],
) -> None:
    test_serve_sigterm.test_sigterm_answers_every_acked_command_and_leaves_nothing_running(
        slack_api, tmp_path
    )  # its assertions: every acked command answered, exit 0, nothing left running
    said = _SAID.search(capsys.readouterr().out)
    assert said is not None, "the SIGTERM test no longer prints its counts"
    acked, refused, status = said.groups()
    figure(
        "sigterm-in-flight",
        f"{int(acked) + int(refused)} commands racing SIGTERM: {acked} acked and every one "
        f"answered, {refused} refused at the door (never acked), 0 lost; exit {status}, "
        f"no process left running",
    )
