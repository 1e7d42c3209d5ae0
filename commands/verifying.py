"""The verification sweep: meshgate's Verify event for every rollout that is verifying.

A phase verifies at once after its change; what is still pending then is checked again on a
schedule (`meshgate serve` runs this every tick, on one replica) until its verify lines pass
or its deadline passes. Each check is one pass of the runner (commands.transitions), so a
check that changes nothing writes nothing, and one that does is decided, stored and carried
out (a rollback reverts the change) like any other event.
"""

from __future__ import annotations

from commands import dispatch
from commands.context import Context
from commands.replies import Reply
from workflows.naming import ServiceRef
from workflows.rollout.events import MESHGATE, Verify
from workflows.rollout.state import RolloutState


def sweep(*, ctx: Context) -> list[Reply]:
    """Check every verifying rollout now; the replies of those that moved (for Slack)."""
    moved = []
    for rollout in ctx.store.rollouts():
        if rollout.state is not RolloutState.VERIFYING:
            continue
        event = Verify(service=ServiceRef.parse(rollout.service))
        reply = dispatch.run(event, actor=MESHGATE.id, ctx=ctx)
        if reply.moved:
            moved.append(reply)
    return moved
