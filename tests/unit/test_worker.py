"""The Slack worker: a dependency that fails mid-job is one log line, a bug keeps its traceback."""

from __future__ import annotations

import logging

import pytest

from bot.slack.worker import Worker
from workflows.ports import StoreUnavailable


def _run(job_error: Exception) -> None:
    worker = Worker(threads=1)

    def job() -> None:
        raise job_error

    worker.submit(job, what="publish shop/checkout")
    assert worker.wait_idle(timeout=5)
    worker.close()


def test_a_store_that_went_away_mid_job_is_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.slack.worker"):
        _run(StoreUnavailable("reading the message of shop/checkout: Redis did not answer"))
    [record] = caplog.records
    assert record.exc_info is None, "an outage is not a bug: no traceback"
    assert "publish shop/checkout" in record.getMessage()
    assert "Redis did not answer" in record.getMessage()


def test_a_bug_in_a_job_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.slack.worker"):
        _run(KeyError("channel"))
    [record] = caplog.records
    assert record.exc_info is not None
