"""Checklist evaluation: the items of a phase, with check verdicts and attestations, as lines.

A line is what a person reads in `status` and in the approval message: the item, its status,
why, and the fix. `blockers` are the required lines that stop an advance: `fail`, `unknown`
(could not check is never a pass) and `pending` (an attestation nobody gave yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.gates.verdicts import CheckResult, Verdict
from workflows.playbook import ChecklistItem


class ItemStatus(StrEnum):
    """Status of one checklist line (DESIGN.md, reply JSON)."""

    PASS = "pass"  # noqa: S105 - the automated check or metric gate holds
    FAIL = "fail"  # it does not hold
    UNKNOWN = "unknown"  # it could not be checked; blocks like a failure
    PENDING = "pending"  # a human attestation nobody has given yet
    ATTESTED = "attested"  # a person attested it


class ChecklistLine(BaseModel):
    """One evaluated checklist item."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    status: ItemStatus
    required: bool = True
    reason: str = ""
    fix: str = ""

    @property
    def actionable(self) -> bool:
        """True when the line has a fix a person should act on (it fails, or is unknown)."""
        return bool(self.fix) and self.status in (
            ItemStatus.FAIL,
            ItemStatus.UNKNOWN,
            ItemStatus.PENDING,
        )


class AttestationNote(BaseModel):
    """Who attested an item of a phase, when, and what they said."""

    model_config = ConfigDict(frozen=True)

    phase: str
    item: str
    by: str
    at: datetime
    note: str = ""


_FROM_VERDICT = {Verdict.PASS: ItemStatus.PASS, Verdict.FAIL: ItemStatus.FAIL}


def evaluate(
    *,
    phase_id: str,
    items: Sequence[ChecklistItem],
    check_results: Mapping[str, CheckResult],
    metric_results: Mapping[str, CheckResult],
    attestations: Iterable[AttestationNote],
) -> tuple[ChecklistLine, ...]:
    """Turn items plus results into lines. Missing results are `unknown`, never `pass`.

    `check_results` is keyed by check id, `metric_results` by item id.
    """
    attested = {a.item: a for a in attestations if a.phase == phase_id}
    lines = []
    for item in items:
        if item.attest:
            note = attested.get(item.id)
            if note is None:
                line = ChecklistLine(
                    id=item.id,
                    title=item.title,
                    status=ItemStatus.PENDING,
                    required=item.required,
                    reason="nobody has attested this yet",
                    fix=f"attest it: `attest SERVICE {item.id} [note]`",
                )
            else:
                said = f": {note.note}" if note.note else ""
                line = ChecklistLine(
                    id=item.id,
                    title=item.title,
                    status=ItemStatus.ATTESTED,
                    required=item.required,
                    reason=f"attested by {note.by} at {timestamp(note.at)}{said}",
                )
        else:
            if item.check is not None:
                result = check_results.get(item.check)
            else:
                result = metric_results.get(item.id)
            if result is None:
                result = CheckResult(Verdict.UNKNOWN, reason="no result for this item")
            line = ChecklistLine(
                id=item.id,
                title=item.title,
                status=_FROM_VERDICT.get(result.verdict, ItemStatus.UNKNOWN),
                required=item.required,
                reason=result.reason,
                fix=result.fix,
            )
        lines.append(line)
    return tuple(lines)


def blockers(lines: Iterable[ChecklistLine]) -> tuple[ChecklistLine, ...]:
    """Required lines that stop an advance: fail, unknown, or a missing attestation."""
    blocking = {ItemStatus.FAIL, ItemStatus.UNKNOWN, ItemStatus.PENDING}
    return tuple(line for line in lines if line.required and line.status in blocking)


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the second, as every surface shows times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
