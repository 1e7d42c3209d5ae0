"""`plan NS/NAME`: the change of the rollout's current phase as YAML, for a team to commit.

Where meshgate does not write (manifests, a read-only or GitOps deployment) the change is
committed by the team; this prints the very objects meshgate would apply (workflows.changes
over one snapshot), after the same pre-flight. Without a rollout, the first phase with a change
is planned, so a team can look before it starts.
"""

from __future__ import annotations

from commands import changes, checking
from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Plan
from commands.replies import PlanView, Reply
from commands.views import change_summary_of
from workflows.errors import ErrorCode
from workflows.rollout import machine


def handle(command: Plan, *, actor: str, ctx: Context) -> Reply:
    """The current phase's planned objects as YAML; conflict when they cannot be built."""
    stored = ctx.store.load(str(command.service))
    if stored is not None:
        phase = ctx.playbook.phase(machine.current(stored, now=ctx.clock()).rollout.phase_index)
    else:
        phase = next((p for p in ctx.playbook.phases if p.change), ctx.playbook.phase(0))
    if phase.change is None:
        return Reply(command="plan", ok=True, plan=PlanView(phase=phase.id))
    snapshot, why = checking.read_cluster(ctx)
    if snapshot is None:
        raise CommandError(ErrorCode.UNAVAILABLE, f"cannot plan the change: {why}")
    planned = changes.plan(
        ctx, change=phase.change, service=command.service, snapshot=snapshot, now=ctx.clock()
    )
    changes.refuse_if_futile(planned, service=command.service, snapshot=snapshot)
    view = PlanView(
        phase=phase.id,
        change=change_summary_of(phase.change),
        objects=[p.ref for p in planned],
        manifest=changes.as_yaml(planned),
    )
    return Reply(command="plan", ok=True, plan=view)
