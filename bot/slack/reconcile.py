"""Rollout messages brought back in line with Redis: the state is the truth, the message follows.

A crash or SIGTERM between a transition and its chat.update leaves a message that shows an
older version (an Approve button on an approved request); a Slack outage leaves a rollout
with no message at all. For every stored rollout, the reconciler compares the version its
message shows (bot.slack.state MessageRef.version) with the rollout's, and has the Publisher
post the missing message (with its waiting thread notes) or update the stale one.

`meshgate serve` runs it once at start-up and then every minute, once per aligned tick across
replicas (bot.slack.ticks). Slack unavailable: the sweep stops, the rest waits for the next
tick (each failed call is counted by the client, bot.slack.counted_client); the scheduler
never sees an error. Messages are paced per channel (bot.slack.pacing), as alerts are.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.slack import ticks
from bot.slack.pacing import Pacer
from bot.slack.posting import Outcome
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from commands.context import Context
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)

# As often as the expiry sweep: a message is back in line within a minute of Slack's return.
SWEEP_SECONDS = 60


def interval() -> timedelta:
    """Time between two scheduled reconciliations."""
    return timedelta(seconds=SWEEP_SECONDS)


def sweep(*, ctx: Context, publisher: Publisher, pacer: Pacer) -> list[str]:
    """Bring every rollout's message in line with its state; the services whose message moved."""
    try:
        rollouts = ctx.store.rollouts()
        due = publisher.out_of_line({r.service: r.version for r in rollouts})
    except StoreUnavailable as e:
        log.warning("reconciliation skipped: %s", e)
        return []
    brought = []
    for rollout in rollouts:
        channel = due.get(rollout.service)
        if not channel:
            continue  # in line: no Slack call, nothing to pace
        try:
            pacer.wait(channel)
            outcome = publisher.bring_in_line(rollout.service, version=rollout.version)
        except StoreUnavailable as e:
            log.warning("reconciliation stopped at %s: %s", rollout.service, e)
            break
        if outcome is Outcome.BROUGHT:
            brought.append(rollout.service)
        elif outcome is Outcome.UNAVAILABLE:
            log.warning("reconciliation stopped at %s: Slack is unavailable", rollout.service)
            break
        elif outcome is Outcome.REFUSED:
            log.info("the message of %s is not in line: Slack refused it", rollout.service)
    return brought


def sweep_once_per_tick(
    *, ctx: Context, publisher: Publisher, state: SlackState, pacer: Pacer
) -> list[str]:
    """Run the sweep if this replica claims the current tick; else do nothing."""
    return ticks.once_per_tick(
        "reconcile",
        ctx=ctx,
        state=state,
        seconds=SWEEP_SECONDS,
        run=lambda: sweep(ctx=ctx, publisher=publisher, pacer=pacer),
    )


def schedule(
    scheduler: BackgroundScheduler,
    *,
    ctx: Context,
    publisher: Publisher,
    state: SlackState,
    pacer: Pacer,
) -> None:
    """Reconcile as soon as `scheduler` starts (`serve` starting), then every minute.

    The start-up pass takes no tick claim: a replica that just started reconciles whatever
    another did this minute (posting is guarded per rollout, updates change nothing twice).
    """
    kwargs = {"ctx": ctx, "publisher": publisher, "pacer": pacer}
    # no trigger: once, when the scheduler starts; run however late the start is
    scheduler.add_job(sweep, kwargs=kwargs, misfire_grace_time=None)
    ticks.every(scheduler, seconds=SWEEP_SECONDS, job=sweep_once_per_tick, state=state, **kwargs)
