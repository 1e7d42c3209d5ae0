"""`meshgate metrics`: one service's Istio metrics from Prometheus, for people and scripts.

    meshgate metrics NS/NAME [--prometheus-url URL] [--at RFC3339] [--window 30m]
                     [--format text|json]

Prints DESIGN.md's "Metrics JSON" (`--format json`) or a readable table. The URL comes from
the flag, else MESHGATE_PROMETHEUS_URL; credentials, CA and timeout from MESHGATE_PROMETHEUS_*
(bot.metrics.prometheus.config_from). Exit status: 0 when the snapshot was printed; 2 on
usage errors (bad service, time, window or URL; no URL at all) and when Prometheus could not
be asked at all (the snapshot is still printed, every value `unavailable`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from bot.metrics import prometheus
from bot.metrics import text as metrics_text
from bot.metrics.prometheus import PrometheusClient
from bot.metrics.source import PrometheusMetrics
from bot.settings import Settings
from bot.settings import load as load_settings
from workflows.gates.metrics_snapshot import Target
from workflows.naming import InvalidServiceRef, ServiceRef
from workflows.playbook import parse_duration

EXIT_OK = 0
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `metrics` subcommand (func=run) to the `meshgate` parser."""
    parser = subparsers.add_parser(
        "metrics",
        help="a service's Istio metrics from Prometheus",
        description="Request rate, success rate, latency, mTLS share, 403s, plaintext callers "
        "and callers by identity of one service, server side, averaged over a window.",
    )
    parser.add_argument("service", metavar="NS/NAME")
    parser.add_argument("--prometheus-url", metavar="URL", help="default: MESHGATE_PROMETHEUS_URL")
    parser.add_argument("--at", metavar="RFC3339", help="evaluate at this time (default: now)")
    parser.add_argument("--window", default="30m", help="averaging window (default: 30m)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """Read and print the snapshot; see the module docstring for exit statuses."""
    try:
        service = ServiceRef.parse(args.service)
        at = _moment(args.at)
        window = parse_duration(args.window)
        if not isinstance(window, timedelta) or window <= timedelta(0):
            raise ValueError(f"--window must be a duration like 30m, got {args.window!r}")
        settings = settings or load_settings()
        config = prometheus.config_from(settings, url=args.prometheus_url)
    except (InvalidServiceRef, ValueError) as e:
        print(f"meshgate metrics: {e}", file=sys.stderr)
        return EXIT_USAGE
    source = PrometheusMetrics(PrometheusClient(config))
    try:
        snapshot = source.snapshots(targets=[Target(service=service)], at=at, window=window)[
            service
        ]
    finally:
        source.close()
    if args.format == "json":
        print(json.dumps(snapshot.to_json()))
    else:
        print(metrics_text.text(snapshot))
    down = snapshot.unavailable.get("request_rate")
    if down:
        print(f"meshgate metrics: Prometheus could not be asked: {down}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise ValueError(
            f"--at must be an RFC 3339 time like 2026-11-25T10:00:00Z, got {text!r}"
        ) from e
    if moment.tzinfo is None:
        raise ValueError(f"--at needs a time zone (Z or +01:00), got {text!r}")
    return moment.astimezone(UTC)
