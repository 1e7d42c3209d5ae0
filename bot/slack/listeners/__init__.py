"""Bolt listeners, one module per kind, each with `register(app, deps)` (Bolt starter layout)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from commands.context import Context


@dataclass(frozen=True)
class Deps:
    """What listeners need: the command context, Slack bookkeeping and the publisher."""

    ctx: Context
    state: SlackState
    publisher: Publisher
    slash_command: str
