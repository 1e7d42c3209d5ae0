"""After a transition: store, update or clear the service's baseline (the watch holds it to it).

Called once by the one-pass runner (commands.transitions.run) after the transition was written
and its change carried out, so the posture read here is the one the change produced (meshgate's
own writes drop the shared snapshot). What a transition means for the baseline is decided by
workflows.watch.baselines; this module only reads the cluster and writes the store. A failure
never fails the command: it comes back as a warning in the reply.
"""

from __future__ import annotations

import logging

from commands.context import Context
from workflows.audit import auditing
from workflows.ports import StoreUnavailable
from workflows.rollout.happenings import Transition
from workflows.watch import baselines
from workflows.watch.baselines import BaselineAction

log = logging.getLogger(__name__)


def after(ctx: Context, transition: Transition) -> list[str]:
    """Carry out what `transition` means for its service's baseline; warnings to show."""
    if ctx.watch is None:
        return []
    rollout = transition.rollout
    action = baselines.after_transition(rollout=rollout, happened=transition.happened)
    try:
        if action is BaselineAction.CLEAR:
            ctx.watch.clear_baseline(rollout.service)
        elif action is BaselineAction.STORE:
            snapshot = ctx.cluster.snapshot() if ctx.cluster is not None else None
            taken = (
                baselines.taken(rollout=rollout, snapshot=snapshot, now=ctx.clock())
                if snapshot is not None
                else None
            )
            if taken is None:
                return [
                    f"the watch could not record {rollout.service}'s posture (the cluster could "
                    "not be read fully); it keeps the previous baseline, if any"
                ]
            ctx.watch.save_baseline(taken)
    except StoreUnavailable as e:
        log.warning("baseline of %s not recorded: %s", rollout.service, e)
        return [f"the watch could not record {rollout.service}'s baseline: {e}"]
    return []


def record_current(ctx: Context, *, phase: str) -> int:
    """Store every service's posture now as its baseline (the demo's starting point); how many.

    Nothing is stored from a snapshot with read errors (a baseline must not hide what it could
    not see).
    """
    if ctx.watch is None or ctx.cluster is None:
        return 0
    snapshot = ctx.cluster.snapshot()
    if snapshot.errors:
        return 0
    report = auditing.audit(snapshot=snapshot)
    for service in report.services:
        ctx.watch.save_baseline(
            baselines.Baseline(service=service.service, phase=phase, at=ctx.clock(), audit=service)
        )
    return len(report.services)
