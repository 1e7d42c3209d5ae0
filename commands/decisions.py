"""`approve`, `reject`, `attest`, `rollback`, `abort`: verbs that are one state-machine event.

Each maps its typed command to the event and runs it through commands.transitions, so they all
store, record and refuse the same way. Approver group membership comes from the Directory port.
"""

from __future__ import annotations

from commands import transitions
from commands.context import Context
from commands.parsing import Abort, Approve, Attest, Reject, Rollback
from commands.replies import Reply
from workflows import rollout as machine
from workflows.rollout import Event, Rollout

Decision = Approve | Reject | Attest | Rollback | Abort


def handle(command: Decision, *, actor: str, ctx: Context) -> Reply:
    """Run the command's event against the stored rollout."""

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
                return machine.Rollback(actor=actor)
            case Abort():
                return machine.Abort(actor=actor, reason=command.reason)

    verb = type(command).__name__.lower()
    _, reply = transitions.run(ctx, verb=verb, actor=actor, service=command.service, event=event)
    return reply


def _groups(ctx: Context, actor: str, current: Rollout | None) -> frozenset[str]:
    """The approver groups of the current phase that `actor` belongs to."""
    if ctx.directory is None or current is None:
        return frozenset()
    policy = ctx.playbook.phase(current.phase_index).approvals
    candidates = machine.approvers_for(policy, default=ctx.default_approvers).groups
    if not candidates:
        return frozenset()
    return ctx.directory.groups_of(actor, candidates=sorted(candidates))
