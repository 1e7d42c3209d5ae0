"""`ack`, `snooze` until their backends exist: an honest `unavailable`.

Each names what it needs, so nobody reads silence as "all clear".
"""

from __future__ import annotations

from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Ack, Snooze, verb_of
from commands.replies import Reply
from workflows.errors import ErrorCode

_NEEDS = {
    "ack": "alerts come with scheduled checks, which this version does not run yet",
    "snooze": "alerts come with scheduled checks, which this version does not run yet",
}


def handle(command: Ack | Snooze, *, actor: str, ctx: Context) -> Reply:
    """Refuse with `unavailable` and say what is missing."""
    raise CommandError(ErrorCode.UNAVAILABLE, _NEEDS[verb_of(command)])
