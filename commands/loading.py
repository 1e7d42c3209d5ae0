"""Reading a service's rollout as of now, or the `not_found` answer that says how to start one."""

from __future__ import annotations

from commands.context import Context
from commands.errors import CommandError
from workflows.errors import ErrorCode
from workflows.naming import ServiceRef
from workflows.rollout import machine
from workflows.rollout.state import Rollout


def current_rollout(ctx: Context, service: ServiceRef) -> Rollout:
    """The stored rollout with expiry applied; CommandError(not_found) when there is none."""
    stored = ctx.store.load(str(service))
    if stored is None:
        raise CommandError(
            ErrorCode.NOT_FOUND, f"no rollout for {service}; `start {service}` begins one"
        )
    return machine.current(stored, now=ctx.clock()).rollout
