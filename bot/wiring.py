"""The composition root: every adapter is built here, once, for every front end.

`open_bot` builds the store (a Redis URL, or an embedded Redis in the state folder), the
playbook, the command context over the cluster reader and writer it is given, and, when Slack
settings are given, the Web API client, the Slack bookkeeping, one Publisher, the worker and the
Bolt app, plus the scheduler. `meshgate serve`, the console, the demo, the benches and the tests
all get their bot from it, so the app the tests drive is the app `serve` runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot import draining
from bot.errors import StartupError
from bot.settings import Settings
from bot.state.embedded import EmbeddedRedis
from bot.state.store import RedisStore
from bot.state.supervision import Supervisor
from bot.state.watch import RedisWatchStore
from bot.watching import Watcher
from commands.context import Context
from workflows import playbook as playbooks
from workflows.playbook import Playbook
from workflows.ports import ClusterReader, ClusterWriter
from workflows.rollout.state import Approvers
from workflows.watch.sweeping import Policy

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.slack.app import SlackParts
    from bot.slack.config import SlackSettings


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(tz=UTC)


def load_playbook(path: Path | None) -> Playbook:
    """The playbook at `path`, or the packaged default; raise StartupError listing problems."""
    if path is None:
        return playbooks.default()
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise StartupError(f"cannot read the playbook {path}: {e.strerror}") from e
    try:
        return playbooks.parse(text, source=str(path))
    except playbooks.PlaybookInvalid as e:
        raise StartupError(str(e)) from e


@dataclass(frozen=True)
class Bot:
    """Everything one meshgate process runs on."""

    ctx: Context
    store: RedisStore
    watcher: Watcher
    slack: SlackParts | None = None
    scheduler: BackgroundScheduler | None = None  # when scheduled work runs (`serve`, `watch`)
    supervisor: Supervisor | None = None  # the embedded Redis's watchdog (no MESHGATE_REDIS_URL)


@contextmanager
def open_bot(
    settings: Settings,
    *,
    cluster: ClusterReader | None,
    state_dir: Path,
    writer: ClusterWriter | None = None,
    slack: SlackSettings | None = None,
    schedule: bool = False,
    clock: Callable[[], datetime] = utc_now,
    playbook: Playbook | None = None,
    default_approvers: tuple[str, ...] | None = None,
    prometheus_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[Bot]:
    """The bot the settings describe; everything it started is stopped on exit.

    `slack` is a checked bot.slack.config.SlackSettings (None: a console or CLI without
    Slack). `schedule` starts the scheduled sweeps (`serve`, `meshgate watch`): approval
    expiry and before/after metric comparisons (with Slack) and the regression watch. `clock`
    and `playbook` override the wall clock and the configured playbook (tests, the demo);
    `prometheus_url` overrides MESHGATE_PROMETHEUS_URL (the demo's local Prometheus; without
    either, metric items are `unknown` and say how to configure one); `sleep` and `monotonic`
    pace Slack messages (tests and benches move time instead of waiting).
    """
    book = playbook or load_playbook(settings.playbook)
    with ExitStack() as stack:
        url = settings.redis_url
        supervisor = None
        if url is None:
            embedded = EmbeddedRedis(state_dir)
            url = embedded.start()
            stack.callback(embedded.stop)
            supervisor = Supervisor(embedded)  # restarts it if it dies (bot.state.supervision)
            supervisor.start()
            stack.callback(supervisor.stop)  # runs first: nothing restarts the server on exit
        store = RedisStore.from_url(url)
        stack.callback(store.close)
        approvers = default_approvers if default_approvers is not None else settings.approvers
        metrics = None
        if prometheus_url or settings.prometheus_url:
            from bot.metrics import prometheus
            from bot.metrics.source import PrometheusMetrics

            try:
                config = prometheus.config_from(settings, url=prometheus_url)
            except ValueError as e:
                raise StartupError(str(e)) from e
            metrics = PrometheusMetrics(prometheus.PrometheusClient(config))
            stack.callback(metrics.close)
        watch_store = RedisWatchStore(store.client)
        ctx = Context(
            store=store,
            playbook=book,
            clock=clock,
            cluster=cluster,
            default_approvers=Approvers.parse(approvers),
            writer=writer,
            metrics=metrics,
            compare_after=settings.metrics_compare_after,
            watch=watch_store,
        )
        policy = Policy(
            blind_after=settings.watch_blind_after, escalate_after=settings.watch_escalate_after
        )
        watcher = Watcher(
            ctx=ctx,
            store=watch_store,
            notifier=None,
            policy=policy,
            interval=settings.watch_interval,
        )
        parts = None
        scheduler = None
        if slack is not None:
            from bot.slack import app as slack_app  # Slack libraries load only for Slack

            ctx, parts = slack_app.build(
                ctx=ctx,
                store=store,
                slack=slack,
                slash_command=settings.slash_command,
                watcher=watcher,
                alert_channel=settings.alert_channel,
                oncall_group=settings.oncall_group,
                sleep=sleep,
                monotonic=monotonic,
            )
            stack.callback(parts.worker.close)
        if schedule:
            from apscheduler.schedulers.background import BackgroundScheduler

            scheduler = BackgroundScheduler(timezone="UTC")
            if parts is not None:
                from bot.slack import comparisons, expiry, reconcile, ticks, verification

                expiry.schedule(scheduler, ctx=ctx, publisher=parts.publisher, state=parts.state)
                reconcile.schedule(
                    scheduler,
                    ctx=ctx,
                    publisher=parts.publisher,
                    state=parts.state,
                    pacer=parts.pacer,
                )
                verification.schedule(
                    scheduler, ctx=ctx, publisher=parts.publisher, state=parts.state
                )
                ticks.every(
                    scheduler,
                    seconds=expiry.SWEEP_SECONDS,
                    job=comparisons.sweep,
                    ctx=ctx,
                    publisher=parts.publisher,
                )
            watcher.schedule(scheduler)
            running = draining.RunningJobs(scheduler)
            scheduler.start()
            stack.callback(draining.stop, scheduler, running)  # running sweeps finish first
        yield Bot(
            ctx=ctx,
            store=store,
            watcher=watcher,
            slack=parts,
            scheduler=scheduler,
            supervisor=supervisor,
        )
