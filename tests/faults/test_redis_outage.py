"""Fault 2: Redis down for a minute under a running Slack app and its scheduler.

Commands sent during the outage are answered `unavailable` (saying nothing was changed, with
no Redis URL in it); the scheduler started as `meshgate serve` starts it keeps running, and
its jobs, driven at injected times through the minute of the outage, neither fail nor stop.
Once Redis is back, the next tick's expiry sweep does its work: the expired approval request's
message loses its buttons.

The minute is injected (the test's clock), not waited for: the scheduler's own jobs are called
as APScheduler calls them (`job.func(*job.args, **job.kwargs)`) at each tick of that minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.state.store import RedisStore
from tests.e2e.test_slack_app import BOB, CAROL, CHANNEL, SLACK_PLAYBOOK, SVC, buttons, to_pending
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_server import RedisServer
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve
from workflows import playbook

OUTAGE_COMMANDS = (f"status {SVC}", f"approve {SVC}", "list", f"history {SVC}", f"advance {SVC}")


PASSWORD = "s3cret-redis-pass"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, with a password its URL carries (never to be shown)."""
    server = RedisServer(data_dir=tmp_path / "redis", password=PASSWORD).start()
    yield server
    server.kill()


@pytest.fixture
def served(
    store: RedisStore, slack_api: SlackWebStandIn, clock: ManualClock
) -> Iterator[ServedApp]:
    book = playbook.parse(SLACK_PLAYBOOK, source="slack-playbook.yaml")
    app = serve(slack_api, context(store, clock, playbook=book), schedule=True)
    yield app
    app.stop()


def run_scheduled_jobs(app: ServedApp) -> int:
    """Run every job of the app's scheduler once, as APScheduler would; the number run."""
    assert app.bot.scheduler is not None
    jobs = app.bot.scheduler.get_jobs()
    for job in jobs:
        job.func(*job.args, **job.kwargs)  # a job that raises fails the test
    return len(jobs)


def answers_to(slack: SlackWebStandIn, user: str) -> list[str]:
    """The text of every answer `user` got (ephemeral messages and response URL posts)."""
    texts = [json.dumps(e) for e in slack.ephemerals if e["user"] == user]
    return texts + [json.dumps(p.body) for p in slack.response_posts if p.user_id == user]


def test_a_minute_without_redis_is_answered_unavailable_and_the_scheduler_resumes(
    served: ServedApp,
    store: RedisStore,
    own_redis: RedisServer,
    clock: ManualClock,
    figure: Callable[[str, str], None],
) -> None:
    slack = served.slack
    message = to_pending(served, slack)  # `switch` awaits approval; expires in an hour
    before = store.load(SVC)
    trail = store.history(SVC, limit=1000)
    scheduler = served.bot.scheduler
    assert scheduler is not None and scheduler.running

    own_redis.kill()
    answered = len(answers_to(slack, CAROL))
    for text in OUTAGE_COMMANDS:
        assert served.command(text, user=CAROL) == 200  # acked as ever
    served.settle()
    answers = eventually(
        lambda: len(a := answers_to(slack, CAROL)[answered:]) >= len(OUTAGE_COMMANDS) and a,
        what="an answer to every command sent during the outage",
    )
    unavailable = [a for a in answers if "unavailable" in a and "nothing was changed" in a]
    assert len(unavailable) == len(OUTAGE_COMMANDS), answers
    for answer in answers:
        assert "redis://" not in answer and PASSWORD not in answer, answer
        assert str(own_redis.port) not in answer, answer

    ticks = 0
    for _ in range(6):  # a minute of ten-second ticks, Redis still down
        clock.advance(timedelta(seconds=10))
        ticks += run_scheduled_jobs(served)
    assert scheduler.running, "the scheduler stopped during the outage"
    assert buttons(slack.message(CHANNEL, message["ts"])), "nothing should have expired yet"

    own_redis.start()
    back = time.monotonic()
    assert store.load(SVC) == before and store.history(SVC, limit=1000) == trail
    clock.advance(timedelta(hours=1))  # past the request's expiry: the next tick sweeps
    run_scheduled_jobs(served)
    updated = slack.message(CHANNEL, message["ts"])
    assert not buttons(updated), "the expiry sweep did not run after Redis came back"
    assert "expired at" in json.dumps(updated.get("blocks", []))
    assert served.command(f"status {SVC}", user=BOB) == 200
    served.settle()
    eventually(lambda: answers_to(slack, BOB), what="an answer once Redis is back")
    assert not any("unavailable" in a for a in answers_to(slack, BOB))
    recovered = time.monotonic() - back
    figure(
        "redis-down-a-minute",
        f"{len(OUTAGE_COMMANDS)} commands during the outage, all acked and answered "
        f"'unavailable' (no URL, no password), 0 lost; {ticks} scheduled job runs over an "
        f"injected minute, none failed, scheduler still running; after Redis came back the "
        f"expiry sweep refreshed the expired request and commands worked within "
        f"{recovered:.2f} s",
    )
