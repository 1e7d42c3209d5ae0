"""`approve`, `reject`, `attest`, `rollback`, `abort`: verbs that are one state-machine event.

Each maps its typed command to the event and runs it through commands.transitions, so they all
store, record and refuse the same way. Approver group membership comes from the Directory port.
"""

from __future__ import annotations

from commands import transitions
from commands.context import Context
from commands.parsing import Abort, Approve, Attest, Reject, Rollback
from commands.replies import Reply
from workflows.rollout import machine
from workflows.rollout.machine import Event, Rollout

Decision = Approve | Reject | Attest | Rollback | Abort


def handle(command: Decision, *, actor: str, ctx: Context) -> Reply:
    """Run the command's event against the stored rollout."""

    def _rollback_groups(current: Rollout | None) -> frozenset[str]:
        # a rollback reverts the last completed phase: its approvers may do it
        if current is None or not current.completed:
            return frozenset()
        return _groups(ctx, actor, current, phase_id=current.completed[-1].phase)

    def event(current: Rollout | None) -> Event:
        match command:
            case Approve():
                return machine.Approve(
                    actor=actor,
                    actor_groups=_groups(ctx, actor, current),
                    request_id=command.request_id,
                )
            case Reject():
                return machine.Reject(
                    actor=actor,
                    actor_groups=_groups(ctx, actor, current),
                    reason=command.reason,
                    request_id=command.request_id,
                )
            case Attest():
                return machine.Attest(actor=actor, item=command.item, note=command.note)
            case Rollback():
                return machine.Rollback(actor=actor, actor_groups=_rollback_groups(current))
            case Abort():
                return machine.Abort(actor=actor, reason=command.reason)

    verb = type(command).__name__.lower()
    _, reply = transitions.run(ctx, verb=verb, actor=actor, service=command.service, event=event)
    return reply


def _groups(
    ctx: Context, actor: str, current: Rollout | None, *, phase_id: str | None = None
) -> frozenset[str]:
    """The approver groups of a phase (default: the current one) that `actor` belongs to."""
    if ctx.directory is None or current is None:
        return frozenset()
    index = current.phase_index
    if phase_id is not None:
        index = next(i for i, p in enumerate(ctx.playbook.phases) if p.id == phase_id)
    policy = ctx.playbook.phase(index).approvals
    candidates = machine.approvers_for(policy, default=ctx.default_approvers).groups
    if not candidates:
        return frozenset()
    return ctx.directory.groups_of(actor, candidates=sorted(candidates))
