"""The audit trail's entries: who did what to which rollout, when, and how it ended.

Every command that touches a rollout leaves one entry, refusals included, so `history` answers
"who approved this?" and "who tried to?". An accepted command keeps the happenings of its
transition (facts; the renderers word them); a refusal or a failed change keeps its message.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from workflows.rollout.happenings import Happening


class TrailEntry(BaseModel):
    """One line of a rollout's history."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: str  # the chat verb (start, advance, approve, ...), or `change` for meshgate's own
    outcome: str  # "ok", or the error code (not_authorized, gate_failed, ...)
    phase: str = ""
    state_before: str = ""
    state_after: str = ""
    detail: str = ""  # a refusal's message, or what a change did; "" when `happened` says it
    happened: tuple[Happening, ...] = ()
