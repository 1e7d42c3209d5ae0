"""`start NS/NAME`: begin a service's rollout at the playbook's first phase."""

from __future__ import annotations

from commands import checking, transitions
from commands.context import Context
from commands.errors import CommandError, ErrorCode
from commands.parsing import Start
from commands.replies import Reply
from workflows.mesh.snapshot import Kind
from workflows.rollout.machine import Start as StartEvent


def handle(command: Start, *, actor: str, ctx: Context) -> Reply:
    """Refuse a service the cluster does not have; otherwise start at the first phase."""
    snapshot, why = checking.read_cluster(ctx)
    warning = ""
    if snapshot is not None and snapshot.readable(Kind.SERVICE):
        if snapshot.service(command.service) is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no Service {command.service} in {snapshot.source or 'the cluster'}; "
                "check the namespace and name",
            )
    else:
        reason = why or (snapshot.errors.get(Kind.SERVICE, "") if snapshot else "")
        warning = f" (warning: could not confirm that {command.service} exists: {reason})"
    phase = ctx.playbook.phase(0)
    lines = checking.gate_lines(
        ctx,
        service=command.service,
        phase=phase,
        attestations=(),
        snapshot=snapshot,
        snapshot_error=why,
    )
    _, reply = transitions.run(
        ctx,
        verb="start",
        actor=actor,
        service=command.service,
        event=StartEvent(actor=actor, service=str(command.service)),
        checklist=lines,
        checklist_phase=phase.id,
    )
    message = f"started {command.service} at phase {phase.id}: {phase.title}{warning}"
    return reply.model_copy(update={"message": message})
