"""`metrics` until its backend exists: an honest `unavailable`.

Each names what it needs, so nobody reads silence as "all clear".
"""

from __future__ import annotations

from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Metrics, verb_of
from commands.replies import Reply
from workflows.errors import ErrorCode

_NEEDS = {
    "metrics": "metrics need Prometheus, which this version of meshgate does not query yet",
}


def handle(command: Metrics, *, actor: str, ctx: Context) -> Reply:
    """Refuse with `unavailable` and say what is missing."""
    raise CommandError(ErrorCode.UNAVAILABLE, _NEEDS[verb_of(command)])
