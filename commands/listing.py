"""`list`: every rollout with its phase, state and pending approvals."""

from __future__ import annotations

from commands.context import Context
from commands.parsing import ListRollouts
from commands.replies import Reply
from commands.views import summary
from workflows.rollout import machine


def handle(command: ListRollouts, *, actor: str, ctx: Context) -> Reply:
    """All stored rollouts, as of now (expired requests shown as expired)."""
    now = ctx.clock()
    rollouts = [summary(machine.current(r, now=now).rollout) for r in ctx.store.rollouts()]
    return Reply(command="list", ok=True, rollouts=rollouts)
