"""Stopping the scheduler: a running sweep finishes before the store under it is closed, and a
stuck one does not hold the stop for ever."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot import draining
from tests.support.slack_app import eventually


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    sched = BackgroundScheduler(timezone="UTC")
    yield sched
    if sched.running:
        sched.shutdown(wait=False)


def _started_job(
    scheduler: BackgroundScheduler,
) -> tuple[draining.RunningJobs, threading.Event, threading.Event]:
    running = draining.RunningJobs(scheduler)
    started, release = threading.Event(), threading.Event()

    def sweep() -> None:
        started.set()
        release.wait(10)

    scheduler.add_job(sweep)  # once, as soon as the scheduler starts
    scheduler.start()
    assert started.wait(5), "the job did not start"
    # APScheduler drops a one-off job from its store just after submitting it: let it, or a
    # shutdown in between makes its thread fail looking the job up (not what is tested here)
    eventually(lambda: not scheduler.get_jobs(), what="the one-off job taken off the store")
    return running, started, release


def test_stop_waits_for_the_running_sweep_to_finish(scheduler: BackgroundScheduler) -> None:
    running, _, release = _started_job(scheduler)
    stopper = threading.Thread(target=draining.stop, args=(scheduler, running))
    stopper.start()
    stopper.join(timeout=0.5)
    assert stopper.is_alive(), "stop returned while the sweep was still running"
    release.set()
    stopper.join(timeout=5)
    assert not stopper.is_alive()
    assert not scheduler.running


def test_a_stuck_sweep_holds_the_stop_no_longer_than_the_drain(
    scheduler: BackgroundScheduler,
) -> None:
    running, _, release = _started_job(scheduler)
    try:
        stopper = threading.Thread(
            target=draining.stop, args=(scheduler, running), kwargs={"drain": 0.2}
        )
        stopper.start()
        stopper.join(timeout=5)
        assert not stopper.is_alive(), "a stuck job held the stop past its drain"
        assert not scheduler.running
    finally:
        release.set()
