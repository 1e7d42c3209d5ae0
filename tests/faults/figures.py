"""The fault suite's figure lines (`FAULT <name>: ...`), gathered for the run's summary."""

from __future__ import annotations

LINES: list[str] = []


def record(name: str, text: str) -> None:
    """Keep `FAULT name: text` for the summary, and print it (seen with `-s`)."""
    line = f"FAULT {name}: {text}"
    LINES.append(line)
    print("\n" + line)
