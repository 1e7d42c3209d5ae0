"""Expired approval requests say so in Slack without waiting for a click.

A request expires lazily in the domain (workflows.rollout.current): nothing is written at the
deadline. This sweep, run every minute by the scheduler in `meshgate serve`, refreshes the
message of every rollout whose request has passed its deadline, so the buttons give way to
"expired at ..." for everyone looking at the channel. Each sweep is timed (bot.observability,
`sweep="expiry"`); one that read the store moves the last-good time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot import observability
from bot.slack import ticks
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from commands.context import Context
from workflows.ports import StoreUnavailable
from workflows.rollout import machine

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60


def sweep(
    *, ctx: Context, publisher: Publisher, monotonic: Callable[[], float] = time.monotonic
) -> list[str]:
    """Refresh the messages of rollouts whose pending request has expired; their services."""
    started = monotonic()
    now = ctx.clock()
    refreshed = []
    try:
        rollouts = ctx.store.rollouts()
    except StoreUnavailable as e:
        log.warning("expiry sweep skipped: %s", e)
        observability.sweep(
            name=observability.Sweep.EXPIRY,
            seconds=monotonic() - started,
            good=False,
            finished_at=ctx.clock().timestamp(),  # not kept: the sweep was not good
        )
        return []
    for rollout in rollouts:
        if rollout.request is None or now < rollout.request.expires_at:
            continue
        if machine.current(rollout, now=now).rollout.request is None:
            publisher.refresh(rollout.service, channel="")
            refreshed.append(rollout.service)
    observability.sweep(
        name=observability.Sweep.EXPIRY,
        seconds=monotonic() - started,
        good=True,
        finished_at=ctx.clock().timestamp(),
    )
    return refreshed


def sweep_once_per_tick(*, ctx: Context, publisher: Publisher, state: SlackState) -> list[str]:
    """Run the sweep if this replica claims the current tick; else do nothing."""
    return ticks.once_per_tick(
        "expiry",
        ctx=ctx,
        state=state,
        seconds=SWEEP_SECONDS,
        run=lambda: sweep(ctx=ctx, publisher=publisher),
    )


def schedule(
    scheduler: BackgroundScheduler, *, ctx: Context, publisher: Publisher, state: SlackState
) -> None:
    """Add the expiry sweep, every minute, to a scheduler (the one the watch runs on)."""
    ticks.every(
        scheduler,
        seconds=SWEEP_SECONDS,
        job=sweep_once_per_tick,
        ctx=ctx,
        publisher=publisher,
        state=state,
    )
