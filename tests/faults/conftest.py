"""The fault suite's figures: one line per fault, printed at the end of the run and kept.

Each test records one line through the `figure` fixture (or, for a table of rows, a
module-scoped tally that records when its rows are done): `FAULT <name>: ...`, the counts a
lead pastes into the closing note. The lines are printed in a "fault suite figures" section of
the terminal summary and written to `.pytest_cache/v/meshgate/fault-figures` (JSON), so a run
under `make test` leaves them where they can be read back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.state.store import RedisStore
from tests.faults import figures
from tests.support.redis_server import RedisServer


@pytest.fixture
def store(own_redis: RedisServer) -> Iterator[RedisStore]:
    """The test's own client of its Redis: reading through it never reconnects the app's."""
    s = RedisStore.from_url(own_redis.url, timeout=1.0)
    yield s
    s.close()


@pytest.fixture
def figure() -> Callable[[str, str], None]:
    """`figure(name, text)` records `FAULT name: text` for the summary."""
    return figures.record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not figures.LINES:
        return
    terminalreporter.section("fault suite figures")
    for line in figures.LINES:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = getattr(session.config, "cache", None)  # None under -p no:cacheprovider
    if figures.LINES and cache is not None:
        cache.set("meshgate/fault-figures", list(figures.LINES))
