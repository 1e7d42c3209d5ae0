"""The one error whose text reaches a user verbatim: CommandError(code, message).

    CommandError
    └── UsageError      the text is not a command we know; carries the right form

Codes are the domain's (workflows.errors.ErrorCode). Everything else raised below a handler is
logged with a correlation id, and the user sees a short apology carrying that id (see
commands.dispatch).
"""

from __future__ import annotations

from collections.abc import Sequence

from workflows.errors import ErrorCode
from workflows.gates.checklist import ChecklistLine


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
