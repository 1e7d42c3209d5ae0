"""The command path's metrics move when people use meshgate (issue 12, point 3).

Commands typed at the console and sent to the Slack app as signed requests, sweeps run by the
watch and the expiry job, and calls to Slack and Prometheus that fail: each must show in the
series /metrics serves, by the amount a user would count. The registry is process-global, so
every test reads the series before and after and asserts the difference.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot import observability, readiness
from bot.console import session
from bot.kube.live import LiveClusterReader
from bot.metrics.prometheus import PrometheusClient, PrometheusConfig, PrometheusUnavailable
from bot.slack import blocks, expiry
from bot.slack.app import web_client
from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.state.store import RedisStore
from tests.support import kube_fixtures, slack_requests
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.playbooks import ATTEST_ONLY
from tests.support.redis_server import RedisServer
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import ServedApp, eventually, serve
from tests.support.watched import INTERVAL, hold_baselines, kube, patch_istio, watch_bot
from tests.support.watched import mesh as watched_mesh
from workflows import playbook

SVC = "shop/productpage"
Key = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Key, float]:
    """Every sample of a text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def exposition() -> dict[Key, float]:
    """What /metrics would serve now (the registry's text exposition)."""
    return samples(generate_latest(observability.REGISTRY).decode())


def key(name: str, **labels: str) -> Key:
    return name, tuple(sorted(labels.items()))


def moved(before: dict[Key, float], after: dict[Key, float], name: str) -> dict[Key, float]:
    """How much each series of `name` moved (series that did not move are left out)."""
    deltas = {
        k: after[k] - before.get(k, 0.0)
        for k in after
        if k[0] == name and after[k] != before.get(k)
    }
    return deltas


# One console session: who types what, and the (verb, outcome) it must count.
CONSOLE = [
    ("alice", f"start {SVC}", ("start", "ok")),
    ("alice", f"attest {SVC} ready team agreed", ("attest", "ok")),
    ("alice", f"advance {SVC}", ("advance", "ok")),
    ("dave", f"attest {SVC} announced posted in #eng", ("attest", "ok")),
    ("alice", f"advance {SVC}", ("advance", "ok")),  # phase switch now awaits approval
    ("alice", f"approve {SVC}", ("approve", "self_approval")),
    ("mallory", f"approve {SVC}", ("approve", "not_authorized")),
    ("bob", f"approve {SVC}", ("approve", "ok")),  # one approval: switch completes
    ("dave", f"attest {SVC} done", ("attest", "ok")),
    ("alice", f"advance {SVC}", ("advance", "ok")),  # phase lock awaits two approvals
    ("bob", f"reject {SVC} not this week", ("reject", "ok")),
    ("alice", "status nope/nothing", ("status", "not_found")),
    ("alice", "frobnicate the mesh", ("unknown", "usage")),
    ("alice", "list", ("list", "ok")),
]


def test_every_console_command_is_counted_by_verb_and_outcome(
    store: RedisStore, clock: ManualClock
) -> None:
    ctx = context(store, clock)
    lines = []
    for actor, text, _ in CONSOLE:
        lines += [f":as {actor}", text]
    out = io.StringIO()
    before = exposition()
    session.run(lines, ctx=ctx, actor="alice", out=out, fmt="json")
    after = exposition()

    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["command"], r["error"]["code"] if r.get("error") else "ok") for r in replies] == [
        expected for _, _, expected in CONSOLE
    ]
    counted = Counter(expected for _, _, expected in CONSOLE)
    assert moved(before, after, "meshgate_commands_total") == {
        key("meshgate_commands_total", verb=verb, outcome=outcome): float(n)
        for (verb, outcome), n in counted.items()
    }  # `:as` lines are not commands: not counted
    assert moved(before, after, "meshgate_approvals_total") == {
        key("meshgate_approvals_total", decision="approve"): 1.0,
        key("meshgate_approvals_total", decision="reject"): 1.0,
    }  # refused approvals did not count


CHANNEL = "C111"
ALICE, BOB, DAVE, MALLORY = "UALICE", "UBOB", "UDAVE", "UMALLORY"


@pytest.fixture
def served(
    slack_api: SlackWebStandIn, store: RedisStore, clock: ManualClock
) -> Iterator[ServedApp]:
    book = playbook.parse(
        ATTEST_ONLY.replace("users: [bob, carol]", f"users: [{BOB}]"), source="slack.yaml"
    )
    app = serve(slack_api, context(store, clock, playbook=book))
    yield app
    app.stop()


def get_metrics(app: ServedApp) -> dict[Key, float]:
    """GET /metrics from the running app, as Prometheus scrapes it."""
    url = app.url.removesuffix("/slack/events") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        return samples(response.read().decode())


def test_slash_commands_and_button_clicks_are_counted_on_the_served_metrics(
    served: ServedApp,
) -> None:
    def typed(text: str, user: str) -> None:
        assert served.command(text, user=user, channel=CHANNEL) == 200
        served.settle()  # the work runs after the ack; wait for it, in order

    before = get_metrics(served)
    typed(f"start {SVC}", ALICE)
    typed(f"attest {SVC} ready", DAVE)
    typed(f"advance {SVC}", ALICE)
    typed(f"attest {SVC} announced", DAVE)
    typed(f"advance {SVC}", ALICE)
    typed("status nope/nothing", ALICE)
    typed("frobnicate", ALICE)
    message = eventually(
        lambda: next(
            (
                m
                for m in served.slack.messages(CHANNEL)
                if any(b["type"] == "actions" for b in m.get("blocks", []))
            ),
            None,
        ),
        what="approval buttons",
    )
    (approve,) = [
        e
        for block in message["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["action_id"] == blocks.APPROVE_ACTION
    ]
    for user in (MALLORY, BOB):
        served.click(
            blocks.APPROVE_ACTION, approve["value"], user=user, channel=CHANNEL, ts=message["ts"]
        )
        served.settle()
    after = get_metrics(served)

    assert moved(before, after, "meshgate_commands_total") == {
        key("meshgate_commands_total", verb="start", outcome="ok"): 1.0,
        key("meshgate_commands_total", verb="attest", outcome="ok"): 2.0,
        key("meshgate_commands_total", verb="advance", outcome="ok"): 2.0,
        key("meshgate_commands_total", verb="status", outcome="not_found"): 1.0,
        key("meshgate_commands_total", verb="unknown", outcome="usage"): 1.0,
        key("meshgate_commands_total", verb="approve", outcome="not_authorized"): 1.0,
        key("meshgate_commands_total", verb="approve", outcome="ok"): 1.0,
    }
    assert moved(before, after, "meshgate_approvals_total") == {
        key("meshgate_approvals_total", decision="approve"): 1.0
    }


def test_watch_sweeps_are_timed_and_alerts_counted_by_kind(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(watched_mesh())
    with watch_bot(redis_url, api, clock, tmp_path) as bot:
        hold_baselines(bot)
        before = exposition()
        clock.advance(INTERVAL)
        assert bot.watcher.tick().ran  # a clean sweep
        clean = exposition()
        patch_istio(kube(api), "peerauthentications", "istio-system", "default",
                    {"spec": {"mtls": {"mode": "PERMISSIVE"}}})  # fmt: skip
        clock.advance(INTERVAL)
        assert bot.watcher.tick().lines  # the regression opens one alert
        clock.advance(INTERVAL)
        assert bot.watcher.tick().lines  # still open: not counted again
        regressed = exposition()
        api.fail("/api/v1/pods", 500, message="etcdserver: request timed out")
        clock.advance(INTERVAL)
        partial = bot.watcher.tick()
        blind = exposition()

    sweeps = key("meshgate_sweep_duration_seconds_count", sweep="watch")
    last_good = key("meshgate_last_good_sweep_timestamp_seconds", sweep="watch")
    assert clean[sweeps] == before.get(sweeps, 0.0) + 1
    assert clean[last_good] == (clock() - 3 * INTERVAL).timestamp()
    assert regressed[sweeps] == clean[sweeps] + 2
    assert regressed[last_good] == (clock() - INTERVAL).timestamp()
    assert moved(before, regressed, "meshgate_alerts_total") == {
        key("meshgate_alerts_total", kind="mtls_weakened"): 1.0
    }
    # a sweep that could not read everything is timed, but is not a good sweep
    assert partial.ran and partial.problem
    assert blind[sweeps] == regressed[sweeps] + 1
    assert blind[last_good] == regressed[last_good]


def test_the_expiry_sweep_is_timed_and_its_last_good_time_kept(served: ServedApp) -> None:
    sweeps = key("meshgate_sweep_duration_seconds_count", sweep="expiry")
    last_good = key("meshgate_last_good_sweep_timestamp_seconds", sweep="expiry")
    assert served.bot.slack is not None
    before = get_metrics(served)
    expiry.sweep(ctx=served.ctx, publisher=served.bot.slack.publisher)
    after = get_metrics(served)
    assert after[sweeps] == before.get(sweeps, 0.0) + 1
    assert after[last_good] == served.ctx.clock().timestamp()


def test_slack_and_prometheus_errors_are_counted_by_dependency(
    slack_api: SlackWebStandIn,
) -> None:
    slack_errors = key("meshgate_dependency_errors_total", dependency="slack", kind="SlackApiError")
    prom_errors = key(
        "meshgate_dependency_errors_total", dependency="prometheus", kind="PrometheusUnavailable"
    )
    before = exposition()
    client = web_client(token="xoxb-test", base_url=slack_api.base_url)
    slack_api.strict_channels = True
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="CNOWHERE", text="hello")
    slack_api.strict_channels = False
    prometheus = PrometheusClient(PrometheusConfig(url="http://127.0.0.1:9"))  # nobody listens
    with pytest.raises(PrometheusUnavailable):
        prometheus.instant("up", at=ManualClock()())
    prometheus.close()
    after = exposition()
    assert after[slack_errors] == before.get(slack_errors, 0.0) + 1
    assert after[prom_errors] == before.get(prom_errors, 0.0) + 1


def test_a_failed_api_discovery_is_counted_as_a_kubernetes_error(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(watched_mesh())
    api.fail("/apis", 503, message="the aggregated API is down")
    errors = key(
        "meshgate_dependency_errors_total", dependency="kubernetes", kind="KubeUnavailable"
    )
    before = exposition()
    with LiveClusterReader.for_host(api.url) as reader:
        snapshot = reader.snapshot()
    after = exposition()
    assert snapshot.errors  # the Istio kinds are unknown, not empty
    assert after[errors] == before.get(errors, 0.0) + 1


def test_a_refused_token_in_the_readiness_probe_is_one_slack_error(
    slack_api: SlackWebStandIn,
) -> None:
    refused = key("meshgate_dependency_errors_total", dependency="slack", kind="SlackApiError")
    slack_api.accepted_tokens = frozenset({"xoxb-another-token"})  # the token was rotated away
    check = readiness.slack(web_client(token="xoxb-test", base_url=slack_api.base_url))
    before = exposition()
    assert check() is False
    assert exposition()[refused] == before.get(refused, 0.0) + 1  # counted once, not twice


def test_an_expiry_sweep_without_redis_is_timed_but_not_good(
    own_redis: RedisServer, slack_api: SlackWebStandIn, clock: ManualClock
) -> None:
    sweeps = key("meshgate_sweep_duration_seconds_count", sweep="expiry")
    last_good = key("meshgate_last_good_sweep_timestamp_seconds", sweep="expiry")
    store = RedisStore.from_url(own_redis.url)
    ctx = context(store, clock)
    client = web_client(token="xoxb-test", base_url=slack_api.base_url)
    publisher = Publisher(client=client, state=SlackState(store.client), ctx=ctx)
    own_redis.kill()
    before = exposition()
    assert expiry.sweep(ctx=ctx, publisher=publisher) == []
    after = exposition()
    store.close()
    assert after[sweeps] == before.get(sweeps, 0.0) + 1
    assert after.get(last_good) == before.get(last_good)  # the age keeps growing


def open_home(app: ServedApp, user: str) -> None:
    """`user` opens the App Home tab; wait for the work it started."""
    payload = slack_requests.event_callback_payload(
        slack_requests.app_home_opened_event(user_id=user)
    )
    assert app.send(json.dumps(payload).encode(), content_type=slack_requests.JSON) == 200
    app.settle()


def test_app_home_publish_failures_are_counted_and_a_hash_conflict_is_not(
    served: ServedApp,
) -> None:
    slack_errors = key("meshgate_dependency_errors_total", dependency="slack", kind="SlackApiError")
    assert served.bot.slack is not None
    served.bot.slack.state.remember_home_hash("UERIN", "a-hash-slack-no-longer-has")
    before = get_metrics(served)
    open_home(served, "UERIN")  # hash_conflict, then published without the hash: no failure
    assert served.slack.home_view("UERIN") is not None
    conflict = get_metrics(served)
    served.slack.accepted_tokens = frozenset({"xoxb-another-token"})  # the token was rotated
    open_home(served, "UFRANK")
    refused = get_metrics(served)
    assert conflict.get(slack_errors, 0.0) == before.get(slack_errors, 0.0)
    slack = {k: v for k, v in refused.items() if "slack" in str(k)}
    assert refused[slack_errors] == conflict.get(slack_errors, 0.0) + 1, (slack, conflict)
