"""Verifying phases are checked on a schedule, and Slack hears what happened.

`meshgate serve` runs the verification sweep (commands.verifying) once per aligned tick across
replicas (a Redis claim, as the expiry sweep does), on the same scheduler. A phase that
verified, or failed by its deadline and was rolled back (or held), updates the rollout's
message, and its thread says what failed and what was undone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.slack import ticks
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from commands import verifying
from commands.context import Context
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)

# The sweep never runs more often than this, whatever a playbook's `interval` says.
MIN_SECONDS = 10


def period(ctx: Context) -> int:
    """Seconds between sweeps: the shortest `verification.interval` of the playbook."""
    intervals = [p.verification.interval for p in ctx.playbook.phases if p.verified]
    shortest = min(intervals, default=timedelta(seconds=30))
    return max(MIN_SECONDS, int(shortest.total_seconds()))


def sweep(*, ctx: Context, publisher: Publisher) -> list[str]:
    """Check every verifying rollout; show those that moved. Their services."""
    try:
        replies = verifying.sweep(ctx=ctx)
    except StoreUnavailable as e:
        log.warning("verification sweep skipped: %s", e)
        return []
    for reply in replies:
        publisher.changed(reply, actor="meshgate", channel="")
    return [r.rollout.service for r in replies if r.rollout is not None]


def sweep_once_per_tick(*, ctx: Context, publisher: Publisher, state: SlackState) -> list[str]:
    """Run the sweep if this replica claims the current tick; else do nothing."""
    return ticks.once_per_tick(
        "verification",
        ctx=ctx,
        state=state,
        seconds=period(ctx),
        run=lambda: sweep(ctx=ctx, publisher=publisher),
    )


def schedule(
    scheduler: BackgroundScheduler, *, ctx: Context, publisher: Publisher, state: SlackState
) -> None:
    """Add the sweep to `scheduler` (the one `meshgate serve` runs the expiry sweep on)."""
    ticks.every(
        scheduler,
        seconds=period(ctx),
        job=sweep_once_per_tick,
        ctx=ctx,
        publisher=publisher,
        state=state,
    )
