"""A watched mesh for the regression-watch tests: services at STRICT with RBAC, on the stand-in.

`mesh(...)` gives the raw objects; `watch_bot(...)` builds the bot with bot.wiring.open_bot over
the live reader pointed at the Kubernetes API stand-in, and `hold_baselines` stores every
service's posture as its baseline (what completing `rbac` would have stored); `kube` returns
the real `kubernetes` client's APIs on the stand-in, for the changes a person would make.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from kubernetes import client as kube_client
from pydantic import SecretStr

from bot import wiring
from bot.kube.live import LiveClusterReader
from bot.kube.transport import api_client_for_host
from bot.settings import Settings
from bot.slack.config import check_slack_settings
from tests.support.clock import ManualClock
from tests.support.kube_api import FakeKubeApi
from tests.support.slack_app import SECRET, TOKEN
from tests.unit.workflows.fixtures_posture import builders as b
from workflows.audit import auditing
from workflows.mesh.snapshot import RawObject
from workflows.watch.baselines import Baseline

CALLERS = {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]}
INTERVAL = timedelta(seconds=60)
ALERTS = "CALERTS"


def mesh(*, namespaces: tuple[str, ...] = ("shop",), per_namespace: int = 2) -> list[RawObject]:
    """Services in injected namespaces, STRICT by the mesh policy, each namespace allow-listed."""
    objects: list[RawObject] = [b.peer_authentication("default", "istio-system", "STRICT")]
    for ns in namespaces:
        objects.append(b.injected_namespace(ns))
        objects.append(b.authorization_policy("allow-callers", ns, spec={"rules": [CALLERS]}))
        for n in range(per_namespace):
            name = f"svc-{n:03d}"
            objects.append(b.service(name, ns))
            objects.append(b.workload_pod(name, ns))
    return objects


@dataclass
class FakeSleep:
    """An injected sleep: records what was asked and moves a monotonic clock, never waits."""

    slept: list[float] = field(default_factory=list)
    now: float = 0.0
    on_sleep: Callable[[float], None] | None = None

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(seconds)

    def monotonic(self) -> float:
        return self.now


@contextmanager
def watch_bot(
    redis_url: str,
    api: FakeKubeApi,
    clock: ManualClock,
    tmp_path: Path,
    *,
    sleep: FakeSleep | None = None,
    slack_url: str | None = None,
    **settings: Any,
) -> Iterator[wiring.Bot]:
    """The bot `serve` builds, reading the stand-in through the live reader.

    With `slack_url` (the Slack stand-in), alerts go to channel ALERTS.
    """
    sleep = sleep or FakeSleep()
    slack = None
    if slack_url is not None:
        settings.update(
            slack_bot_token=SecretStr(TOKEN),
            slack_signing_secret=SecretStr(SECRET),
            slack_api_url=slack_url,
            alert_channel=ALERTS,
        )
    config = Settings(redis_url=redis_url, **settings)
    if slack_url is not None:
        slack = check_slack_settings(config)
    reader = LiveClusterReader.for_host(api.url)
    with wiring.open_bot(
        config,
        cluster=reader,
        state_dir=tmp_path,
        clock=clock,
        slack=slack,
        sleep=sleep,
        monotonic=sleep.monotonic,
    ) as bot:
        yield bot


def hold_baselines(bot: wiring.Bot) -> int:
    """Store every service's posture now as its baseline; how many."""
    assert bot.ctx.cluster is not None
    report = auditing.audit(snapshot=bot.ctx.cluster.snapshot())
    for service in report.services:
        bot.watcher.store.save_baseline(
            Baseline(service=service.service, phase="rbac", at=bot.ctx.clock(), audit=service)
        )
    return len(report.services)


@dataclass(frozen=True)
class Kube:
    """The real client's APIs on the stand-in."""

    core: Any
    custom: Any


def kube(api: FakeKubeApi) -> Kube:
    client = api_client_for_host(api.url)
    return Kube(core=kube_client.CoreV1Api(client), custom=kube_client.CustomObjectsApi(client))


def patch_istio(k: Kube, plural: str, ns: str, name: str, body: dict[str, Any]) -> None:
    """A merge patch of an Istio security object, as `kubectl patch --type merge` sends it."""
    k.custom.patch_namespaced_custom_object("security.istio.io", "v1", ns, plural, name, body)
