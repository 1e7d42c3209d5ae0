"""`advance NS/NAME`: check the current phase's gate, then ask for approval or complete it."""

from __future__ import annotations

from commands import changes, checking, loading, transitions
from commands.context import Context
from commands.errors import CommandError, ErrorCode
from commands.parsing import Advance
from commands.replies import Reply
from workflows.gates import checklist
from workflows.gates.checklist import ItemStatus
from workflows.rollout import machine
from workflows.rollout.machine import RequestAdvance


def handle(command: Advance, *, actor: str, ctx: Context) -> Reply:
    """Evaluate the gate live; a failing or unknown required item refuses with gate_failed."""
    rollout = loading.current_rollout(ctx, command.service)
    snapshot, why = checking.read_cluster(ctx)
    lines = checking.gate_lines(
        ctx,
        service=command.service,
        phase=ctx.playbook.phase(rollout.phase_index),
        attestations=rollout.attestations,
        snapshot=snapshot,
        snapshot_error=why,
    )
    phase = ctx.playbook.phase(rollout.phase_index)
    diff = ""
    if phase.approvals.required > 0 and not checklist.blockers(lines) and rollout.request is None:
        # what the approvers will be asked to apply, as the server would store it
        diff = changes.preview(ctx, change=phase.change, service=command.service, snapshot=snapshot)
    try:
        transition, reply = transitions.run(
            ctx,
            verb="advance",
            actor=actor,
            service=command.service,
            event=RequestAdvance(actor=actor, checklist=lines, preview=diff),
            checklist=lines,
            checklist_phase=phase.id,
        )
    except CommandError as e:
        if e.code is not ErrorCode.GATE_FAILED:
            raise
        pending = [b.id for b in e.blockers if b.status is ItemStatus.PENDING]
        hint = f"fix what blocks it, then `advance {command.service}` again"
        if pending:
            hint = f"`attest {command.service} {pending[0]} [note]` for human items; {hint}"
        raise CommandError(e.code, e.message, blockers=e.blockers, usage=hint) from e
    moved = transition.rollout
    if moved.phase == rollout.phase or moved.state is machine.RolloutState.COMPLETED:
        return reply
    # the phase completed: show the next phase's gate, on the same read of the cluster
    next_lines = checking.gate_lines(
        ctx,
        service=command.service,
        phase=ctx.playbook.phase(moved.phase_index),
        attestations=moved.attestations,
        snapshot=snapshot,
        snapshot_error=why,
    )
    assert reply.rollout is not None  # noqa: S101 - a transition always carries the rollout
    view = reply.rollout.model_copy(update={"checklist": list(next_lines)})
    return reply.model_copy(update={"rollout": view})
