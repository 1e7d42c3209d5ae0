"""Durations people write (`30s`, `30m`, `24h`, `2d`), bounded so date arithmetic cannot overflow.

Used by playbooks (workflows.playbook), chat commands (`snooze`) and settings. A duration
outside DURATION_RANGE is refused with a message naming the range (DurationOutOfRange, a
ValueError), never an OverflowError later, when a deadline is computed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_DURATION = timedelta(0)
MAX_DURATION = timedelta(days=365)
DURATION_RANGE = "between 0s and 365d"


class DurationOutOfRange(ValueError):
    """A well-formed duration outside DURATION_RANGE (a caller may name a narrower range)."""


def parse_duration(value: object) -> object:
    """Accept `30s`, `30m`, `24h`, `2d` (and what pydantic accepts) as a timedelta.

    A duration is bounded (DURATION_RANGE): past it, arithmetic on dates overflows.
    """
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise ValueError(f"expected a duration like 30m, 24h or 2d, got {shown!r}")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if not MIN_DURATION.total_seconds() <= seconds <= MAX_DURATION.total_seconds():
            raise DurationOutOfRange(_out_of_range(value.strip()))
        return timedelta(seconds=seconds)
    return value


def bounded_duration(value: timedelta) -> timedelta:
    """Refuse a duration outside DURATION_RANGE (however it was written)."""
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise DurationOutOfRange(_out_of_range(format_duration(value)))
    return value


def _out_of_range(shown: str) -> str:
    shown = shown if len(shown) <= 40 else shown[:40] + "..."
    return f"a duration must be {DURATION_RANGE}, got {shown}"


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration for whole units (`24h`, `30m`)."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(bounded_duration)]
