"""`help`: every verb with its form and what it does."""

from __future__ import annotations

from commands.context import Context
from commands.parsing import SUMMARY, USAGE, Help
from commands.replies import HelpLine, Reply


def handle(command: Help, *, actor: str, ctx: Context) -> Reply:
    """The list of verbs."""
    lines = [HelpLine(usage=USAGE[verb], summary=SUMMARY[verb]) for verb in USAGE]
    return Reply(command="help", ok=True, help=lines)
