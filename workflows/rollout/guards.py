"""Refusals shared by several events: a rollout that is aborted or finished takes no more work."""

from __future__ import annotations

from workflows.errors import ErrorCode
from workflows.rollout.events import Refused
from workflows.rollout.state import Rollout, RolloutState


def refuse_if_finished(rollout: Rollout) -> None:
    """Refuse work on a rollout that was aborted or completed every phase."""
    if rollout.state is RolloutState.ABORTED:
        raise Refused(ErrorCode.CONFLICT, f"{rollout.service} was aborted; `start` it again")
    if rollout.state is RolloutState.COMPLETED:
        raise Refused(
            ErrorCode.CONFLICT,
            f"{rollout.service} completed every phase; `rollback` to revisit the last one",
        )
