"""`status NS/NAME`: where a rollout stands, with its checklist evaluated now."""

from __future__ import annotations

from commands import checking, loading
from commands.context import Context
from commands.parsing import Status
from commands.replies import Reply
from commands.views import rollout_view
from workflows.rollout import machine


def handle(command: Status, *, actor: str, ctx: Context) -> Reply:
    """Read the rollout and evaluate its checklist (gate, or verify lines) against the cluster."""
    rollout = loading.current_rollout(ctx, command.service)
    lines = (
        ()
        if rollout.finished
        else checking.lines_for(
            ctx,
            service=command.service,
            to_check=machine.checklist_of(rollout, playbook=ctx.playbook),
            attestations=rollout.attestations,
        )
    )
    view = rollout_view(rollout, playbook=ctx.playbook, checklist=lines)
    return Reply(command="status", ok=True, rollout=view)
