"""Scheduled Slack sweeps that run once per aligned tick across replicas.

Every replica schedules the same jobs; for each tick (the clock's seconds divided by the job's
period) one replica claims it in Redis (bot.slack.state `claim_tick`) and runs the job, so a
sweep happens once in the whole deployment. A store that cannot be reached skips the tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.slack.state import SlackState
from commands.context import Context
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)


def once_per_tick(
    job: str, *, ctx: Context, state: SlackState, seconds: int, run: Callable[[], list[str]]
) -> list[str]:
    """`run()` if this replica claims the current tick of `job`; else nothing."""
    tick = int(ctx.clock().timestamp()) // seconds
    try:
        claimed = state.claim_tick(job, tick)
    except StoreUnavailable as e:
        log.warning("%s sweep skipped: %s", job, e)
        return []
    return run() if claimed else []


def every(
    scheduler: BackgroundScheduler, *, seconds: int, job: Callable[..., Any], **kwargs: Any
) -> None:
    """Run `job(**kwargs)` every `seconds`, never two at once, missed runs coalesced."""
    scheduler.add_job(
        job, "interval", seconds=seconds, kwargs=kwargs, max_instances=1, coalesce=True
    )
