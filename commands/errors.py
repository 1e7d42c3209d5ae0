"""The one error whose text reaches a user verbatim: CommandError(code, message).

    CommandError
    └── UsageError      the text is not a command we know; carries the right form

Everything else raised below a handler is logged with a correlation id, and the user sees a
short apology carrying that id (see commands.dispatch).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from workflows.gates.checklist import ChecklistLine


class ErrorCode(StrEnum):
    """Error codes of the reply JSON (DESIGN.md)."""

    USAGE = "usage"  # malformed command; the message shows the right form
    NOT_FOUND = "not_found"  # no such rollout, service, item or alert
    NOT_AUTHORIZED = "not_authorized"  # the actor may not do this
    SELF_APPROVAL = "self_approval"  # approving one's own request
    ALREADY_DECIDED = "already_decided"  # the request was decided, or this vote was cast
    GATE_FAILED = "gate_failed"  # required checklist items do not pass
    CONFLICT = "conflict"  # not possible in the rollout's current state
    UNAVAILABLE = "unavailable"  # a backing service (Redis, cluster, Prometheus) is down
    INTERNAL = "internal"  # a bug; the message carries a correlation id for the logs


class CommandError(Exception):
    """A refusal or failure explained to the person who typed the command."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        usage: str = "",
        blockers: Sequence[ChecklistLine] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.usage = usage
        self.blockers = tuple(blockers)


class UsageError(CommandError):
    """The text does not parse; `usage` is the form that would."""

    def __init__(self, message: str, *, usage: str) -> None:
        super().__init__(ErrorCode.USAGE, message, usage=usage)
