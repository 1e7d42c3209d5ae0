"""Several replicas on one Redis: each tick sweeps once, each alert is posted once, and a
replica that dies mid-sweep leaves nothing half done for good. Slack is the Web API stand-in."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

from tests.support import kube_fixtures
from tests.support.clock import ManualClock
from tests.support.slack_api import SlackWebStandIn
from tests.support.watched import (
    ALERTS,
    INTERVAL,
    FakeSleep,
    hold_baselines,
    kube,
    mesh,
    patch_istio,
    watch_bot,
)


class ReplicaDied(BaseException):
    """Raised inside a replica to stop it where it stands, as a SIGKILL would."""


def weaken(api: object) -> None:
    patch_istio(kube(api), "peerauthentications", "istio-system", "default",  # type: ignore[arg-type]
                {"spec": {"mtls": {"mode": "PERMISSIVE"}}})  # fmt: skip


def top_level(slack: SlackWebStandIn) -> list[dict[str, object]]:
    return [m for m in slack.messages(ALERTS) if m.get("thread_ts") in (None, m["ts"])]


def test_two_schedulers_on_one_redis_post_each_alert_exactly_once(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    slack_api: SlackWebStandIn,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(mesh())
    with ExitStack() as stack:
        one, two = (
            stack.enter_context(
                watch_bot(redis_url, api, clock, tmp_path / n, slack_url=slack_api.base_url)
            )
            for n in ("one", "two")
        )
        hold_baselines(one)
        weaken(api)
        results = {}
        for tick in range(3):  # three ticks; both replicas fire at once on each
            clock.advance(INTERVAL)
            start = threading.Barrier(2)

            def fire(
                name: str, bot: object, tick: int = tick, start: threading.Barrier = start
            ) -> None:
                start.wait()
                results[(name, tick)] = bot.watcher.tick()  # type: ignore[attr-defined]

            threads = [
                threading.Thread(target=fire, args=(n, b)) for n, b in (("one", one), ("two", two))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    ran = [key for key, result in results.items() if result.ran]
    assert sorted(tick for _, tick in ran) == [0, 1, 2]  # each tick swept by exactly one
    (message,) = top_level(slack_api)
    assert "PeerAuthentication istio-system/default" in str(message)
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_a_replica_that_dies_mid_sweep_leaves_the_alert_to_the_next_tick_posted_once(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    slack_api: SlackWebStandIn,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(mesh())

    def die(seconds: float) -> None:
        raise ReplicaDied  # it stops while waiting out Slack's Retry-After

    with (
        watch_bot(redis_url, api, clock, tmp_path / "a", slack_url=slack_api.base_url,
                  sleep=FakeSleep(on_sleep=die)) as doomed,
        watch_bot(redis_url, api, clock, tmp_path / "b", slack_url=slack_api.base_url) as other,
    ):  # fmt: skip
        hold_baselines(doomed)
        weaken(api)
        slack_api.rate_limit("chat.postMessage", times=1, retry_after=30)
        clock.advance(INTERVAL)
        try:
            doomed.watcher.tick()
            raise AssertionError("the replica should have died")
        except ReplicaDied:
            pass
        assert other.watcher.store.open_alerts(), "the alert was written before the replica died"
        assert top_level(slack_api) == []
        clock.advance(INTERVAL)
        held = other.watcher.tick()  # the dead replica's lease has not run out yet
        clock.advance(2 * INTERVAL)
        taken_over = other.watcher.tick()
        clock.advance(INTERVAL)
        after = other.watcher.tick()
    assert not held.ran and "still sweeping" in held.why_not
    assert taken_over.ran and taken_over.shown == 1
    assert after.ran and after.shown == 0
    assert len(top_level(slack_api)) == 1
