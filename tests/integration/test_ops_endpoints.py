"""/healthz, /readyz and /metrics of `meshgate serve`, over HTTP, on real parts.

The app is the real Slack app served by waitress; readiness is checked against a real Redis
(killed and restarted), the Slack Web API stand-in (a token it accepts or not) and a real
APScheduler scheduler; /metrics is read as Prometheus reads it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client.parser import text_string_to_metric_families

from bot import readiness
from bot.slack.app import web_client
from bot.slack.wsgi import MeshgateWsgi
from bot.state.store import RedisStore
from tests.support import slack_app
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.redis_server import RedisServer
from tests.support.slack_api import SlackWebStandIn


class Served:
    """MeshgateWsgi on a free loopback port."""

    def __init__(self, wsgi: MeshgateWsgi) -> None:
        # stopped from inside waitress's loop, so no accepted socket outlives the test
        url, self._stop = slack_app.serve_wsgi(wsgi)
        self.base = url.removesuffix("/slack/events")

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def stop(self) -> None:
        self._stop()


class SlackClock:
    """Monotonic seconds the test moves (the Slack check's cache)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ops(
    own_redis: RedisServer, slack_api: SlackWebStandIn, clock: ManualClock
) -> Iterator[tuple[Served, RedisServer, BackgroundScheduler, SlackClock]]:
    store = RedisStore.from_url(own_redis.url, timeout=1.0)
    stack = ExitStack()
    bot = slack_app.open_bot(slack_api, context(store, clock), stack)
    assert bot.slack is not None
    assert bot.slack.worker.wait_idle()  # the bot has learned who it is (its own auth.test)
    app = bot.slack.app
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start()
    slack_clock = SlackClock()
    client = web_client(token=slack_app.TOKEN, base_url=slack_api.base_url)
    checks = {
        "redis": readiness.redis(store),
        "slack": readiness.slack(client, clock=slack_clock),
        "scheduler": readiness.scheduler(scheduler),
    }
    served = Served(MeshgateWsgi(app, signing_secret=slack_app.SECRET, readiness=checks))
    yield served, own_redis, scheduler, slack_clock
    served.stop()
    if scheduler.running:
        scheduler.shutdown(wait=False)
    stack.close()
    store.close()


def test_healthz_is_the_process_and_echoes_the_request_id(ops: Any) -> None:
    served, *_ = ops
    status, headers, body = served.get("/healthz", **{"X-Request-Id": "probe-1"})
    assert (status, body) == (200, "ok\n")
    assert headers["X-Request-Id"] == "probe-1"
    _, generated, _ = served.get("/healthz")
    assert len(generated["X-Request-Id"]) == 12


def test_readyz_names_each_dependency_that_fails_and_recovers_with_it(ops: Any) -> None:
    served, redis_server, scheduler, _ = ops
    assert served.get("/readyz")[::2] == (200, "ready: redis, slack, scheduler\n")

    redis_server.kill()
    assert served.get("/readyz")[::2] == (503, "not ready: redis\n")
    redis_server.start()
    assert served.get("/readyz")[0] == 200

    scheduler.shutdown(wait=False)
    assert served.get("/readyz")[::2] == (503, "not ready: scheduler\n")


def test_readyz_is_not_ready_when_slack_refuses_the_token(
    ops: Any, slack_api: SlackWebStandIn
) -> None:
    served, _, _, slack_clock = ops
    learned = [c.method for c in slack_api.calls].count("auth.test")  # the bot's, at start
    assert served.get("/readyz")[0] == 200
    slack_api.accepted_tokens = frozenset({"xoxb-another-token"})  # the token was rotated away
    assert served.get("/readyz")[0] == 200, "auth.test is cached for a minute"
    slack_clock.now += readiness.SLACK_CACHE_SECONDS
    status, _, body = served.get("/readyz")
    assert (status, body) == (503, "not ready: slack\n")
    assert [c.method for c in slack_api.calls].count("auth.test") == learned + 2


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_are_prometheus_text_and_count_redis_errors(ops: Any) -> None:
    served, redis_server, _, _ = ops
    status, headers, before = served.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    key = ("meshgate_dependency_errors_total",
           (("dependency", "redis"), ("kind", "ConnectionError")))  # fmt: skip
    counted = _samples(before).get(key, 0.0)

    redis_server.kill()
    assert served.get("/readyz")[0] == 503
    after = _samples(served.get("/metrics")[2])

    assert after[key] == counted + 1
    builds = [k for k in after if k[0] == "meshgate_build_info"]
    assert len(builds) == 1 and after[builds[0]] == 1.0


def test_kubernetes_reads_and_changes_are_counted(kube_api_factory: Any) -> None:
    from bot import observability
    from bot.kube.changes import KubeChanges
    from bot.kube.live import LiveClusterReader
    from bot.kube.writer import KubeWriter
    from tests.support.clusters import one_service_cluster
    from workflows.changes import actions
    from workflows.naming import ServiceRef
    from workflows.playbook import ChangeKind, PhaseChange

    def value(name: str, **labels: str) -> float:
        return observability.REGISTRY.get_sample_value(name, labels) or 0.0

    api = kube_api_factory(one_service_cluster())
    api.fail("/api/v1/pods", 403)
    forbidden = value("meshgate_dependency_errors_total", dependency="kubernetes",
                      kind="KubeForbidden")  # fmt: skip
    applied = value("meshgate_changes_total", result="applied")
    rolled_back = value("meshgate_changes_total", result="rolled_back")

    with LiveClusterReader.for_host(api.url) as reader:
        snapshot = reader.snapshot()
    assert value("meshgate_unreadable_kinds") == 1.0
    assert value("meshgate_dependency_errors_total", dependency="kubernetes",
                 kind="KubeForbidden") == forbidden + 1  # fmt: skip

    planned = actions.objects_for(
        PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT"),
        service=ServiceRef("shop", "checkout"),
        snapshot=snapshot,
        callers=[],
        now=ManualClock()(),
    )
    changes = KubeChanges(KubeWriter.for_host(api.url))
    records = changes.apply(planned)
    changes.rollback(records)
    assert value("meshgate_changes_total", result="applied") == applied + len(planned)
    assert value("meshgate_changes_total", result="rolled_back") == rolled_back + len(planned)


def _raises() -> bool:
    raise RuntimeError("unix:///secret/path")


@pytest.mark.parametrize(
    ("liveness", "status", "body"),
    [
        ({}, 200, "ok\n"),
        ({"redis": lambda: True}, 200, "ok\n"),
        ({"redis": lambda: False}, 503, "not live: redis\n"),
        ({"redis": _raises}, 503, "not live: redis\n"),
    ],
    ids=["no-checks", "live", "embedded-redis-not-restartable", "check-raises"],
)
def test_healthz_is_503_only_when_a_liveness_check_fails(
    slack_api: SlackWebStandIn,
    store: RedisStore,
    clock: ManualClock,
    liveness: dict[str, Callable[[], bool]],
    status: int,
    body: str,
) -> None:
    with ExitStack() as stack:
        bot = slack_app.open_bot(slack_api, context(store, clock), stack)
        assert bot.slack is not None
        wsgi = MeshgateWsgi(bot.slack.app, signing_secret=slack_app.SECRET, liveness=liveness)
        served = Served(wsgi)
        stack.callback(served.stop)
        assert served.get("/healthz")[::2] == (status, body)
