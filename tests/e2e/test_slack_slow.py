"""Issue 13, point 2: with Slack answering every Web API call in 20 s, acks still come at once.

Over HTTP against the app as `meshgate serve` builds it, with the Slack stand-in holding every
request 20 s: twelve `/rollout` commands sent together are each acked within Slack's 3 s,
and each is answered once Slack answers again (no command is lost, none runs twice).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from bot.slack import worker
from bot.state.store import RedisStore
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve

SLACK_SECONDS = 20.0
COMMANDS = 12


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    app = serve(slack_api, context(store, clock))
    yield app
    slack_api.answer_promptly()
    app.stop()


def test_twelve_commands_are_acked_within_3_s_while_slack_takes_20_s(served: ServedApp) -> None:
    served.slack.answer_slowly(SLACK_SECONDS)
    acks: list[tuple[int, float]] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        started = time.monotonic()
        status = served.command("help" if i % 2 else "list", user=f"W{100 + i}")
        with lock:
            acks.append((status, time.monotonic() - started))

    senders = [threading.Thread(target=send, args=(i,)) for i in range(COMMANDS)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=10)
    slowest = max(seconds for _, seconds in acks)
    # the worker's threads (both lanes) are all waiting on Slack; the rest waits its turn
    threads = worker.DEFAULT_THREADS + worker.QUICK_THREADS  # `help` goes on the quick lane
    assert served.slack.wait_held(threads)
    held = served.slack.held
    print(
        f"\n{COMMANDS} commands with Slack at {SLACK_SECONDS:.0f} s: slowest ack "
        f"{slowest * 1000:.0f} ms; Slack requests held at once: {held} "
        f"(the worker's {threads} threads)"
    )
    assert sorted(status for status, _ in acks) == [200] * COMMANDS
    assert slowest < 3.0
    assert held == threads

    served.slack.answer_promptly()
    served.settle()
    answered = eventually(
        lambda: (
            len(served.slack.response_posts) + len(served.slack.calls_to("chat.postEphemeral"))
            >= COMMANDS
        ),
        what="every command answered",
    )
    assert answered
