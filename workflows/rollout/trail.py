"""The audit trail's entries: who did what to which rollout, when, and how it ended.

Every command that touches a rollout leaves one entry, refusals included, so `history` answers
"who approved this?" and "who tried to?".
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TrailEntry(BaseModel):
    """One line of a rollout's history."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: str  # the chat verb: start, advance, approve, ...
    outcome: str  # "ok", or the refusal code (not_authorized, gate_failed, ...)
    phase: str = ""
    state_before: str = ""
    state_after: str = ""
    detail: str = ""
