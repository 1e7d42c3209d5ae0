"""Alerts in Slack, driven as Slack drives the app: the alert message, a note in the rollout's
thread, Acknowledge and Snooze buttons, `/rollout snooze`, one escalation, App Home, resolve."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.kube.live import LiveClusterReader
from bot.slack import alert_blocks
from bot.state.store import RedisStore
from tests.support import kube_fixtures, slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.kube_api import FakeKubeApi
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve
from tests.support.watched import (
    ALERTS,
    INTERVAL,
    FakeSleep,
    hold_baselines,
    kube,
    mesh,
    patch_istio,
)

ROLLOUTS, ALICE, BOB = "C111", "UALICE", "UBOB"
ONCALL = "SONCALL"


@pytest.fixture
def served(
    slack_api: SlackWebStandIn,
    store: RedisStore,
    clock: ManualClock,
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> Iterator[tuple[ServedApp, FakeKubeApi]]:
    api = kube_api_factory(mesh())
    ctx = dataclasses.replace(
        context(store, clock, manifests=None), cluster=LiveClusterReader.for_host(api.url)
    )
    sleep = FakeSleep()
    app = serve(
        slack_api, ctx, alert_channel=ALERTS, oncall_group=ONCALL,
        watch_escalate_after=timedelta(minutes=30), sleep=sleep, monotonic=sleep.monotonic,
    )  # fmt: skip
    yield app, api
    app.stop()


def alert_message(slack: SlackWebStandIn) -> dict[str, Any]:
    (top,) = [m for m in slack.messages(ALERTS) if m.get("thread_ts") in (None, m["ts"])]
    return top


def weaken(api: FakeKubeApi, mode: str = "PERMISSIVE") -> None:
    patch_istio(kube(api), "peerauthentications", "istio-system", "default",
                {"spec": {"mtls": {"mode": mode}}})  # fmt: skip


def test_an_alert_is_posted_noted_acknowledged_snoozed_escalated_once_and_resolved(
    served: tuple[ServedApp, FakeKubeApi], clock: ManualClock
) -> None:
    app, api = served
    slack, watcher = app.slack, app.bot.watcher
    app.command("start shop/svc-000", user=ALICE, channel=ROLLOUTS)
    app.settle()
    (rollout_msg,) = [m for m in slack.messages(ROLLOUTS) if "thread_ts" not in m]
    hold_baselines(app.bot)
    weaken(api)
    clock.advance(INTERVAL)
    result = watcher.tick()
    (line,) = result.lines
    alert_id = line.alert.id
    posted = alert_message(slack)
    text = json.dumps(posted)
    assert "PeerAuthentication istio-system/default" in text and "2 services" in text
    assert "shop/svc-000" in text and alert_id in text
    note = slack.replies(ROLLOUTS, rollout_msg["ts"])
    assert any(alert_id in m.get("text", "") for m in note), "the rollout's thread has a note"

    clock.advance(INTERVAL)
    assert watcher.tick().shown == 0  # open: nothing posted again
    app.click(alert_blocks.ACK_ACTION, alert_id, user=BOB, channel=ALERTS, ts=posted["ts"])
    app.settle()
    acked = json.dumps(alert_message(slack))
    assert f"acknowledged by <@{BOB}>" in acked
    assert alert_blocks.ACK_ACTION not in acked  # the button gave way to who acknowledged

    app.command(f"snooze {alert_id} 1h", user=ALICE, channel=ALERTS)
    app.settle()
    assert "snoozed by" in json.dumps(alert_message(slack))

    fixed_at = clock.now + timedelta(minutes=5)
    weaken(api, "STRICT")
    clock.now = fixed_at
    resolved = watcher.tick()
    assert [(r.alert.id, r.state.value) for r in resolved.lines] == [(alert_id, "resolved")]
    final = json.dumps(alert_message(slack))
    assert "resolved at" in final and "after 6m" in final  # opened at +1m, fixed at +7m
    assert len([m for m in slack.messages(ALERTS) if "thread_ts" not in m]) == 1


def test_an_unacknowledged_alert_mentions_the_on_call_group_once_and_shows_on_app_home(
    served: tuple[ServedApp, FakeKubeApi], clock: ManualClock
) -> None:
    app, api = served
    slack, watcher = app.slack, app.bot.watcher
    hold_baselines(app.bot)
    weaken(api)
    clock.advance(INTERVAL)
    (line,) = watcher.tick().lines
    for _ in range(40):  # 40 minutes of ticks; escalation is due after 30
        clock.advance(INTERVAL)
        watcher.tick()
    posted = alert_message(slack)
    mentions = [
        m
        for m in slack.replies(ALERTS, posted["ts"])
        if f"<!subteam^{ONCALL}>" in m.get("text", "")
    ]
    assert len(mentions) == 1
    body = slack_requests.event_callback_body(slack_requests.app_home_opened_event(user_id=BOB))
    app.send(body, content_type=slack_requests.JSON)
    view = eventually(lambda: slack.home_view(BOB), what="home view")
    shown = json.dumps(view["blocks"])
    assert line.alert.id in shown and "escalated at" in shown


def test_an_alert_whose_post_hangs_past_the_timeout_is_not_shown_and_raises_nothing(
    slack_api: SlackWebStandIn, store: RedisStore
) -> None:
    """A hung Slack is a failed call for the watch (tried again next sweep), never an error
    that ends the sweep before the other alerts are shown."""
    from datetime import UTC, datetime

    from bot.slack import app as slack_app
    from bot.slack.alerting import SlackAlerts
    from bot.slack.pacing import Pacer
    from bot.slack.state import SlackState
    from workflows.watch.alerts import Alert

    client = slack_app.web_client(token="xoxb-test", base_url=slack_api.base_url, timeout=1)
    alerts = SlackAlerts(
        client=client,
        state=SlackState(store.client),
        pacer=Pacer(sleep=lambda _: None),
        channel=ALERTS,
        oncall_group=None,
    )
    alert = Alert(
        id="a1b2", cause="mtls_weakened", kinds=("mtls_weakened",), services=("shop/cart",),
        opened_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    slack_api.answer_slowly(60)
    try:
        assert alerts.show(alert, shown_revision=0) is False
    finally:
        slack_api.answer_promptly()
