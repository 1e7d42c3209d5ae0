"""`meshgate watch`: the regression watch on its own, or one sweep for cron jobs and CI.

    meshgate watch [--manifests DIR | --context CTX] [--baseline FILE] [--once]
                   [--format text|json]

`--once` runs one sweep and prints one line per alert it opened, kept or resolved (JSON:
`{"cause", "kinds", "services", "state": "new"|"open"|"resolved", "id"}`); alert state is kept
in Redis (MESHGATE_REDIS_URL, else the embedded one), so a second run says `open`, not `new`.
Without `--once` it sweeps every MESHGATE_WATCH_INTERVAL until interrupted, posting to Slack
when the Slack settings are given. `--baseline FILE` watches against an audit JSON instead of
the baselines stored for completed phases. Exit status of `--once`: 0 no open alert, 1 open
alerts, 2 on usage errors or when the cluster could not be read fully.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from bot import settings as settings_module
from bot import wiring
from bot.cli import audit as cli_audit
from bot.cli import serve as cli_serve
from bot.errors import StartupError
from bot.wording import alert_headline
from commands.alerts import view
from commands.watching import SweepResult
from workflows.audit import auditing
from workflows.watch.sweeping import LineState

EXIT_CLEAN, EXIT_ALERTS, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    """Add `watch` to the CLI."""
    parser = sub.add_parser("watch", help="scheduled mTLS and RBAC regression checks")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, metavar="DIR", help="a folder of manifests")
    source.add_argument("--context", metavar="CTX", help="a kubeconfig context of a live cluster")
    parser.add_argument(
        "--baseline", type=Path, metavar="FILE", help="an audit JSON to watch against"
    )
    parser.add_argument("--once", action="store_true", help="one sweep, then exit")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the watch the arguments describe; the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    settings = settings_module.load()
    if args.manifests is not None and not args.manifests.is_dir():
        print(f"meshgate watch: --manifests {args.manifests}: not a folder", file=err)
        return EXIT_USAGE
    baseline = None
    if args.baseline is not None:
        try:
            baseline = auditing.parse(
                cli_audit._read_baseline(args.baseline), source=str(args.baseline)
            )
        except (cli_audit.AuditUsageError, auditing.BaselineInvalid) as e:
            print(f"meshgate watch: {e}", file=err)
            return EXIT_USAGE
    cluster, _writer = cli_serve.cluster_from(args, settings)
    if cluster is None:
        raise StartupError("meshgate watch needs a cluster: --manifests DIR or --context CTX")
    slack = None
    if not args.once and settings.slack_bot_token is not None:
        from bot.slack.config import check_slack_settings

        slack = check_slack_settings(settings)
    with wiring.open_bot(
        settings,
        cluster=cluster,
        state_dir=settings.state_dir.expanduser(),
        slack=slack,
        schedule=not args.once,
    ) as bot:
        if args.once:
            result = bot.watcher.sweep(baseline=baseline)
            print_result(result, fmt=args.format, out=out, err=err)
            if result.problem:
                return EXIT_USAGE
            still_open = any(line.state is not LineState.RESOLVED for line in result.lines)
            return EXIT_ALERTS if still_open else EXIT_CLEAN
        print("meshgate watch: sweeping every", settings.watch_interval, file=err)
        threading.Event().wait()  # the scheduler's thread sweeps until interrupted
    return EXIT_CLEAN


def print_result(result: SweepResult, *, fmt: str, out: TextIO, err: TextIO) -> None:
    """One line per alert (JSON or text), and what could not be read on stderr."""
    for line in result.lines:
        if fmt == "json":
            print(json.dumps(line.to_data(), separators=(",", ":")), file=out)
        else:
            said = alert_headline(view(line.alert))
            print(f"{line.state.value:<8} {line.alert.id}  {said}", file=out)
    if fmt == "text" and not result.lines:
        print(f"no alerts: {result.watched} watched service(s) hold their baseline", file=out)
    if result.problem:
        print(f"meshgate watch: could not read {result.problem}", file=err)
