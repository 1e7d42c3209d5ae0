"""Verdicts of automated checks: pass, fail or unknown, with the reason and the fix.

Kept apart from the check registry so the rollout machine can read a checklist without
importing the mesh model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """Outcome of one automated check."""

    PASS = "pass"  # noqa: S105 - the condition holds on what was read
    FAIL = "fail"  # the condition does not hold; `reason` says where
    UNKNOWN = "unknown"  # could not be decided (not implemented, read error, no data)


@dataclass(frozen=True)
class CheckResult:
    """A verdict with the reason a person reads and the one-line fix when it fails."""

    verdict: Verdict
    reason: str = ""
    fix: str = ""
