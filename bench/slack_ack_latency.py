"""Acknowledgement latency of `/rollout status` under 20 concurrent signed requests.

Runs meshgate's real Slack app, built by bot.wiring.open_bot as `meshgate serve --demo` builds
it (Redis, the demo mesh behind the shared snapshot cache), and, in the same run, a bare Bolt
app that only acks, both served by waitress on 127.0.0.1, and fires rounds of 20 simultaneous
signed slash commands at each, alternating. The Slack Web API stand-in runs in a child process
(its CPU is Slack's, not meshgate's); meshgate's work after each round is drained before the
next, so it slows only its own acks. Prints p50 / p99 of the time to the HTTP answer (the ack
Slack waits for, 3 s at most), meshgate's ratio to the bare app, and how many commands
meshgate ran after their acks.

    .venv/bin/python bench/slack_ack_latency.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from slack_bolt import App

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.kube.cached import CachedClusterReader
from bot.slack.wsgi import MeshgateWsgi  # noqa: E402
from bot.state.store import RedisStore
from commands import dispatch  # noqa: E402
from tests.support import slack_requests  # noqa: E402
from tests.support.clock import ManualClock  # noqa: E402
from tests.support.contexts import context  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.slack_api import SlackWebStandIn  # noqa: E402
from tests.support.slack_app import SECRET, TOKEN, open_bot, serve_wsgi  # noqa: E402

CONCURRENCY = 20
SVC = "shop/productpage"


def serve(app: App) -> tuple[str, Callable[[], None]]:
    return serve_wsgi(MeshgateWsgi(app, signing_secret=SECRET))


def slack_in_child() -> tuple[str, Callable[[], None]]:
    """The Slack stand-in in a process of its own: what it spends is Slack's time, not ours."""
    ctx = multiprocessing.get_context("fork")
    urls: Any = ctx.Queue()
    stop_event = ctx.Event()

    def run() -> None:
        with SlackWebStandIn() as slack:
            urls.put(slack.base_url)
            stop_event.wait()

    child = ctx.Process(target=run, daemon=True)
    child.start()
    base_url = str(urls.get(timeout=30))

    def stop() -> None:
        stop_event.set()
        child.join(timeout=10)

    return base_url, stop


def bare_app(slack_url: str) -> App:
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=TOKEN, base_url=slack_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )

    @app.command("/rollout")
    def only_ack(ack: Callable[[], None]) -> None:
        ack()

    return app


def measure(url: str, *, rounds: int) -> list[float]:
    """Seconds from send to answer, for rounds x CONCURRENCY simultaneous requests."""
    samples: list[float] = []
    lock = threading.Lock()
    for _ in range(rounds):
        barrier = threading.Barrier(CONCURRENCY)

        def one(barrier: threading.Barrier = barrier) -> None:
            body = slack_requests.slash_command_body(text=f"status {SVC}", user_id="UBENCH")
            barrier.wait()
            start = time.perf_counter()
            status, _, _ = slack_requests.post(
                url, body, secret=SECRET, content_type=slack_requests.FORM
            )
            elapsed = time.perf_counter() - start
            assert status == 200, status
            with lock:
                samples.append(elapsed)

        threads = [threading.Thread(target=one) for _ in range(CONCURRENCY)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    # waitress warns at each queued request; queueing is what the benchmark provokes
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    slack_url, stop_slack = slack_in_child()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stack.callback(stop_slack)
        redis = RedisServer(data_dir=Path(tmp) / "redis").start()
        store = RedisStore.from_url(redis.url)
        try:
            # as `meshgate serve` runs it: the cluster read shared by a burst of commands
            base = context(store, ManualClock())
            assert base.cluster is not None
            shared = dataclasses.replace(base, cluster=CachedClusterReader(base.cluster))
            bot = stack.enter_context(ExitStack())
            meshgate = open_bot(slack_url, shared, bot)  # what `meshgate serve` builds
            assert meshgate.slack is not None
            ctx = meshgate.ctx
            assert dispatch.execute(f"start {SVC}", actor="UBENCH", ctx=ctx).ok
            apps = (("bare Bolt (ack only)", bare_app(slack_url)), ("meshgate", meshgate.slack.app))
            served = {name: serve(app) for name, app in apps}
            results: dict[str, list[float]] = {name: [] for name in served}
            for url, _ in served.values():
                measure(url, rounds=1)  # warm-up: first-request auth.test, imports, pools
            # rounds alternate between the apps, so a noisy neighbour hits both alike
            for _ in range(args.rounds):
                for name, (url, _) in served.items():
                    results[name] += measure(url, rounds=1)
                    # the next round starts quiet: meshgate's work slows only its own acks
                    meshgate.slack.worker.wait_idle(timeout=120)
            for _, stop in served.values():
                stop()
            ran = meshgate.slack.worker.completed
            print(f"meshgate ran {ran} commands after their acks (the work is done, not dropped)")
        finally:
            store.close()
            redis.stop()
    print(f"ack latency, {CONCURRENCY} concurrent signed `/rollout status` x {args.rounds} rounds")
    print(f"{'app':<22} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, samples in results.items():
        print(
            f"{name:<22} {len(samples):>5} {percentile(samples, 50) * 1e3:>8.1f} "
            f"{percentile(samples, 99) * 1e3:>8.1f} {statistics.mean(samples) * 1e3:>8.1f}"
        )
    bare, ours = results["bare Bolt (ack only)"], results["meshgate"]
    print(
        f"ratio meshgate / bare: p50 {percentile(ours, 50) / percentile(bare, 50):.2f}x, "
        f"p99 {percentile(ours, 99) / percentile(bare, 99):.2f}x "
        f"(Slack's limit is 3000 ms; meshgate p99 {percentile(ours, 99) * 1e3:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
