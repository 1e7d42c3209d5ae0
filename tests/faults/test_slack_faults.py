"""Fault 4: Slack's Web API answers 500s, and storms of 429 with Retry-After.

Over HTTP against the app as `meshgate serve` builds it, with the Slack stand-in failing calls
on request (tests/support/slack_api.py `fail` and `rate_limit`). Commands are acked as ever;
the rollout's message arrives once Slack answers again, or the person is told it did not; no
message is posted twice; a 429's retry comes no sooner than its Retry-After (the stand-in
timestamps every call it receives).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from bot.slack import worker
from bot.slack.app import RATE_LIMIT_RETRIES
from bot.state.store import RedisStore
from tests.e2e.test_slack_app import (
    ALICE,
    CHANNEL,
    DAVE,
    SLACK_PLAYBOOK,
    rollout_message,
    say,
    text_of,
)
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.slack_api import Call, SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve
from workflows import playbook

SVC = "shop/productpage"
STORM_SERVICES = ("shop/productpage", "shop/reviews", "shop/ratings", "shop/details")
RETRY_AFTER = 1  # seconds: the smallest Retry-After Slack sends, to keep the suite quick


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    book = playbook.parse(SLACK_PLAYBOOK, source="slack-playbook.yaml")
    app = serve(slack_api, context(store, clock, playbook=book))
    yield app
    app.stop()


def top_level(slack: SlackWebStandIn) -> list[dict[str, object]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts", m["ts"]) == m["ts"]]


def answers_to(slack: SlackWebStandIn, user: str) -> list[str]:
    texts = [json.dumps(e) for e in slack.ephemerals if e["user"] == user]
    return texts + [json.dumps(p.body) for p in slack.response_posts if p.user_id == user]


def no_duplicates(slack: SlackWebStandIn) -> int:
    """Assert no message was posted twice (same thread, same text); the number of messages."""
    posted = [(m.get("thread_ts", ""), m.get("text", "")) for m in slack.messages(CHANNEL)]
    assert len(posted) == len(set(posted)), posted
    return len(posted)


def retries_waited(calls: list[Call], retry_after: float) -> tuple[int, float, int]:
    """Each 429's retry (the next call of the same method and arguments): (retries, least
    gap, calls given up on). Asserts that no retry came sooner than `retry_after`.
    """
    gaps = []
    given_up = 0
    for i, call in enumerate(calls):
        if call.status != 429:
            continue
        retry = next(
            (c for c in calls[i + 1 :] if (c.method, c.args) == (call.method, call.args)), None
        )
        if retry is None:
            given_up += 1  # the client's retries were spent: the caller hears of the 429
            continue
        gaps.append(retry.at - call.at)
    assert gaps, "no call was retried: the storm did not happen"
    assert min(gaps) >= retry_after, f"retried {min(gaps):.2f} s after a 429 (Retry-After 1)"
    return len(gaps), min(gaps), given_up


def test_slack_500s_are_told_then_the_message_follows_and_nothing_is_posted_twice(
    served: ServedApp, caplog: pytest.LogCaptureFixture, figure: Callable[[str, str], None]
) -> None:
    caplog.set_level(logging.WARNING)
    slack = served.slack
    slack.fail("chat.postMessage", times=1)  # the rollout's message
    slack.fail("chat.postEphemeral", times=1)  # and the reply that says so: the response URL
    answer_here = slack.response_url(channel_id=CHANNEL, user_id=ALICE)
    assert served.command(f"start {SVC}", user=ALICE, response_url=answer_here) == 200
    served.settle()
    assert top_level(slack) == []
    told = eventually(lambda: answers_to(slack, ALICE), what="ALICE told of the failure")
    assert "Slack did not take the rollout" in told[-1] and "fatal_error" in told[-1], told
    assert "  (Slack" not in told[-1] and "((" not in told[-1], "the hint reads as one sentence"

    say(served, f"attest {SVC} ready", user=DAVE)  # Slack answers again: the message follows
    served.settle()
    message = rollout_message(slack)
    assert "attested by" in text_of(message)

    slack.fail("chat.update", times=1)
    say(served, f"advance {SVC}", user=ALICE)
    served.settle()
    assert "rollout message for shop/productpage failed: fatal_error" in caplog.text
    say(served, f"attest {SVC} announced in #eng", user=DAVE)  # the next change catches up
    served.settle()
    updated = rollout_message(slack)
    assert updated["ts"] == message["ts"]
    assert "announced" in text_of(updated) and "attested by" in text_of(updated)
    messages = no_duplicates(slack)
    failed = [c for c in slack.calls if c.status >= 500]
    assert len(failed) == 3
    figure(
        "slack-500",
        f"4 commands, all acked; {len(failed)} Web API calls answered 500 (chat.postMessage, "
        f"chat.postEphemeral, chat.update): the person was told through the response URL, "
        f"the message followed on the next change; {messages} messages, 0 duplicates, "
        f"0 rollout changes lost",
    )


def test_a_429_storm_waits_out_retry_after_and_posts_each_message_once(
    served: ServedApp, figure: Callable[[str, str], None]
) -> None:
    slack = served.slack
    # each of the worker's threads refused about as often as its client retries
    storm = worker.DEFAULT_THREADS * RATE_LIMIT_RETRIES
    slack.rate_limit("chat.postMessage", times=storm, retry_after=RETRY_AFTER)
    acks: list[tuple[int, float]] = []
    lock = threading.Lock()

    def start(i: int, service: str) -> None:
        began = time.monotonic()
        status = served.command(f"start {service}", user=f"U{i}")
        with lock:
            acks.append((status, time.monotonic() - began))

    senders = [threading.Thread(target=start, args=(i, s)) for i, s in enumerate(STORM_SERVICES)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=10)
    assert sorted(status for status, _ in acks) == [200] * len(STORM_SERVICES)
    slowest = max(seconds for _, seconds in acks)
    assert slowest < 3.0
    served.settle()
    tops = top_level(slack)
    posted, told = 0, 0
    for i, service in enumerate(STORM_SERVICES):  # each is posted once, or its starter told
        shown = [m for m in tops if f"Rollout {service}" in text_of(m)]
        assert len(shown) <= 1, f"the message of {service} was posted {len(shown)} times"
        posted += len(shown)
        if not shown:
            starter = f"U{i}"
            said: list[str] = eventually(
                functools.partial(answers_to, slack, starter), what=f"{starter} told"
            )
            assert "ratelimited" in said[-1], said
            told += 1
        assert served.ctx.store.load(service) is not None, f"the rollout of {service} was lost"
    messages = no_duplicates(slack)
    posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    limited = sum(c.status == 429 for c in posts)
    assert limited == storm
    retried, least, given_up = retries_waited(posts, RETRY_AFTER)
    assert given_up == told

    # A storm longer than the client's retries: the person is told, and nothing is lost.
    slack.rate_limit("chat.postMessage", times=RATE_LIMIT_RETRIES + 1, retry_after=RETRY_AFTER)
    assert served.command("start shop/inventory", user="UINV") == 200
    served.settle()
    refusal = eventually(lambda: answers_to(slack, "UINV"), what="UINV told of the failure")
    assert "Slack did not take the rollout" in refusal[-1] and "ratelimited" in refusal[-1]
    assert served.ctx.store.load("shop/inventory") is not None, "the rollout itself was lost"
    later = [c for c in slack.calls if c.method == "chat.postMessage"][len(posts) :]
    assert [c.status for c in later] == [429] * (RATE_LIMIT_RETRIES + 1)
    assert retries_waited(later, RETRY_AFTER)[::2] == (RATE_LIMIT_RETRIES, 1)
    figure(
        "slack-429-storm",
        f"{len(STORM_SERVICES)} starts at once against {storm} 429s (Retry-After "
        f"{RETRY_AFTER} s): all acked (slowest {slowest * 1000:.0f} ms), {posted} rollout "
        f"messages posted once each, {told} starters told Slack refused past the client's "
        f"{RATE_LIMIT_RETRIES} retries, {retried} retries, "
        f"none sooner than Retry-After (least gap {least:.2f} s), {messages} messages, "
        f"0 duplicates, 0 rollouts lost; a storm past the retries: the person told, the "
        f"rollout kept",
    )
