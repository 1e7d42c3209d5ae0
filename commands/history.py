"""`history NS/NAME`: the audit trail of a rollout, refusals included."""

from __future__ import annotations

from commands.context import Context
from commands.errors import CommandError
from commands.parsing import History
from commands.replies import Reply
from commands.views import history_line
from workflows.errors import ErrorCode


def handle(command: History, *, actor: str, ctx: Context) -> Reply:
    """The newest entries of the trail, oldest first."""
    entries = ctx.store.history(str(command.service), limit=ctx.history_limit)
    if not entries:
        raise CommandError(ErrorCode.NOT_FOUND, f"no history for {command.service}")
    lines = [history_line(e) for e in entries]
    return Reply(command="history", ok=True, history=lines)
