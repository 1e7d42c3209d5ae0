"""The fault suite's figures: one line per fault, printed at the end of the run and kept.

Each test calls the `figure` fixture with one line (`FAULT <name>: ...`, the counts a lead
pastes into the closing note). The lines are printed in a "fault suite figures" section of
the terminal summary and written to `.pytest_cache/v/meshgate/fault-figures` (JSON), so a run
under `make test` leaves them where they can be read back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

_LINES: list[str] = []


@pytest.fixture
def figure() -> Callable[[str, str], None]:
    """`figure(name, text)` records `FAULT name: text` for the summary."""

    def record(name: str, text: str) -> None:
        line = f"FAULT {name}: {text}"
        _LINES.append(line)
        print("\n" + line)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _LINES:
        return
    terminalreporter.section("fault suite figures")
    for line in _LINES:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = session.config.cache
    if _LINES and cache is not None:
        cache.set("meshgate/fault-figures", list(_LINES))
