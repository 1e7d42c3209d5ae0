"""`status NS/NAME`: where a rollout stands, with its checklist evaluated now."""

from __future__ import annotations

from commands import checking, loading
from commands.context import Context
from commands.parsing import Status
from commands.replies import Reply
from commands.views import rollout_view


def handle(command: Status, *, actor: str, ctx: Context) -> Reply:
    """Read the rollout and evaluate the current phase's gate against the cluster."""
    rollout = loading.current_rollout(ctx, command.service)
    phase = ctx.playbook.phase(rollout.phase_index)
    lines = (
        ()
        if rollout.finished
        else checking.gate_lines(
            ctx, service=command.service, phase=phase, attestations=rollout.attestations
        )
    )
    view = rollout_view(rollout, playbook=ctx.playbook, checklist=lines)
    return Reply(command="status", ok=True, rollout=view)
