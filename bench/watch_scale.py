"""Benchmark: a watch sweep over 2,000 watched services next to 200, and an alert storm.

Sweep: the mesh of bench/audit_scale.py (2,000 services in 200 namespaces, and 200 in 20),
served by the Kubernetes API stand-in in a child process (its memory is not counted), every
service holding a baseline in a real redis-server; one sweep (one snapshot over HTTP, the
regression engine, the alert store) is measured for API requests, wall time and peak Python
memory (a second sweep under tracemalloc). Nothing regressed, so this is the steady state.

Storm: 1,002 services in three namespaces, each STRICT by its namespace's PeerAuthentication,
all holding baselines; the three policies go PERMISSIVE: 1,002 regressions over 3 causes. One
sweep posts to the Slack Web API stand-in; the figure is the number of messages it posted
(3 expected), and the pacing it asked for.

Run: .venv/bin/python bench/watch_scale.py
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from audit_scale import SIZES, _pod, _serve, generate  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot import wiring  # noqa: E402
from bot.kube.live import LiveClusterReader  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.config import check_slack_settings  # noqa: E402
from tests.support.kube_api import FakeKubeApi  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.slack_api import SlackWebStandIn  # noqa: E402
from workflows.audit import auditing  # noqa: E402
from workflows.watch.baselines import Baseline  # noqa: E402

Obj = dict[str, Any]
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
STORM_NAMESPACES = ("team-a", "team-b", "team-c")
STORM_SERVICES = 1002


def _hold(bot: wiring.Bot) -> int:
    assert bot.ctx.cluster is not None
    report = auditing.audit(snapshot=bot.ctx.cluster.snapshot())
    for s in report.services:
        bot.watcher.store.save_baseline(Baseline(service=s.service, phase="rbac", at=NOW, audit=s))
    return len(report.services)


def sweep_at(services: int, namespaces: int, redis_url: str, state: Path) -> dict[str, Any]:
    """Serve the mesh in a child process, hold baselines, then time one sweep."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(generate(services, namespaces), child)
    )
    process.start()
    try:
        url = parent.recv()
        settings = Settings(redis_url=redis_url)
        with wiring.open_bot(
            settings, cluster=LiveClusterReader.for_host(url), state_dir=state, clock=lambda: NOW
        ) as bot:
            bot.store.client.flushall()
            watched = _hold(bot)
            parent.send("count")
            parent.recv()
            started = time.perf_counter()
            result = bot.watcher.sweep()
            wall = time.perf_counter() - started
            parent.send("count")
            log = parent.recv()
            tracemalloc.start()
            bot.watcher.sweep()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            parent.send("count")
            parent.recv()
        parent.send("stop")
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return {
        "services": watched,
        "requests": len(log),
        "wall_s": wall,
        "peak_mib": peak / 2**20,
        "alerts": len(result.lines),
        "problem": result.problem,
    }


def storm(redis_url: str, state: Path) -> dict[str, Any]:
    """1,002 regressions over 3 causes in one sweep; the Slack messages it posts."""
    objects: list[Obj] = [{"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": "istio-system"}}]  # fmt: skip
    for ns in STORM_NAMESPACES:
        objects += [
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": ns, "labels": {"istio-injection": "enabled"}}},
            _peer(ns, "STRICT"),
        ]  # fmt: skip
    for s in range(STORM_SERVICES):
        ns, name = STORM_NAMESPACES[s % 3], f"svc-{s:04d}"
        port = {"name": "http", "port": 80, "targetPort": 8080}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [port]},
            }
        )
        objects.append(_pod(ns, f"{name}-7d9f8-00", {"app": name}, name))
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:  # the pacer's waits, counted, not waited
        slept.append(seconds)
        clock[0] += seconds

    with FakeKubeApi(objects) as api, SlackWebStandIn() as slack:
        settings = Settings(
            redis_url=redis_url,
            slack_bot_token=SecretStr("xoxb-bench"),
            slack_signing_secret=SecretStr("bench-secret"),
            slack_api_url=slack.base_url,
            alert_channel="CALERTS",
        )
        with wiring.open_bot(
            settings,
            cluster=LiveClusterReader.for_host(api.url),
            state_dir=state,
            clock=lambda: NOW,
            slack=check_slack_settings(settings),
            sleep=sleep,
            monotonic=lambda: clock[0],
        ) as bot:
            bot.store.client.flushall()
            _hold(bot)
            api.seed([_peer(ns, "PERMISSIVE") for ns in STORM_NAMESPACES])
            started = time.perf_counter()
            result = bot.watcher.sweep()
            wall = time.perf_counter() - started
            posted = len(slack.calls_to("chat.postMessage"))
            bot.slack.worker.wait_idle() if bot.slack else None
    regressions = sum(len(line.alert.regressions) for line in result.lines)
    return {
        "regressions": regressions,
        "causes": len(result.lines),
        "messages": posted,
        "paced_s": sum(slept),
        "wall_s": wall,
    }


def _peer(ns: str, mode: str) -> Obj:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": ns},
        "spec": {"mtls": {"mode": mode}},
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(data_dir=Path(tmp) / "redis").start()
        try:
            small, large = (sweep_at(s, n, server.url, Path(tmp)) for s, n in SIZES)
            storm_figures = storm(server.url, Path(tmp))
        finally:
            server.stop()
    print(f"{'watch sweep':40}{'small':>12}{'large':>12}{'large/small':>14}")
    for label, key, fmt in (
        ("watched services", "services", "{}"),
        ("API requests", "requests", "{}"),
        ("sweep wall time (s)", "wall_s", "{:.3f}"),
        ("peak memory, sweep (MiB)", "peak_mib", "{:.1f}"),
        ("alerts", "alerts", "{}"),
    ):
        ratio = f"{large[key] / small[key]:.2f}x" if small[key] else ""
        print(f"{label:40}{fmt.format(small[key]):>12}{fmt.format(large[key]):>12}{ratio:>14}")
    for result in (small, large):
        if result["problem"]:
            print(f"read problem at {result['services']} services: {result['problem']}")
    s = storm_figures
    print(
        f"\nalert storm: {s['regressions']} regressions over {s['causes']} causes -> "
        f"{s['messages']} Slack message(s); pacing asked for {s['paced_s']:.1f} s; "
        f"sweep {s['wall_s']:.2f} s"
    )
    return 0 if s["messages"] == s["causes"] == 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
