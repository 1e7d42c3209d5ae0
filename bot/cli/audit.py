"""`meshgate audit`: mesh posture, findings and regressions of services, for people and CI.

    meshgate audit [--manifests DIR | --context CTX] [--service NS/NAME] [--baseline FILE]
                   [--format text|json] [--fail-on error|regression]

Reads the cluster once (a folder of manifests, or a kubeconfig context: the one named, else
MESHGATE_KUBE_CONTEXT, else the current one), runs the pure `workflows.audit.audit`, and prints
the report as DESIGN.md's "Audit JSON" or as a table a person scans in seconds. Exit status:
0 clean; 1 when `--fail-on` matched (an error finding, or a regression against the baseline);
2 on usage errors, an unreadable or invalid baseline, a service not found, or read errors (the
report is still printed, with the affected verdicts `unknown`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot.console import audit_render
from bot.errors import BotError
from bot.kube.manifests import ManifestReader
from bot.settings import Settings
from workflows.audit import auditing as audits
from workflows.mesh.findings import Severity
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.naming import InvalidServiceRef, ServiceRef
from workflows.ports import ClusterReader

EXIT_CLEAN = 0
EXIT_FAIL_ON = 1
EXIT_USAGE = 2


class AuditUsageError(BotError):
    """A problem with the command line or its inputs; the message is shown as is (exit 2)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `audit` subcommand (func=run) to the `meshgate` parser."""
    parser = subparsers.add_parser(
        "audit",
        help="mesh posture, findings and regressions of services",
        description="Audit services' mesh posture: sidecars, effective mTLS, authorization, "
        "and findings with stable codes (docs/findings.md).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, metavar="DIR", help="a folder of manifests")
    source.add_argument("--context", metavar="CTX", help="a kubeconfig context of a live cluster")
    parser.add_argument("--service", metavar="NS/NAME", help="audit only this service")
    parser.add_argument(
        "--baseline", type=Path, metavar="FILE", help="an earlier `--format json` report"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--fail-on",
        choices=("error", "regression"),
        help="exit 1 on any error finding, or on any regression against --baseline",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the audit described by parsed arguments; return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        service = ServiceRef.parse(args.service) if args.service else None
        if args.fail_on == "regression" and args.baseline is None:
            raise AuditUsageError("--fail-on regression needs --baseline FILE")
        baseline = _read_baseline(args.baseline) if args.baseline is not None else None
        snapshot = _read(_reader(args))
        if (
            service is not None
            and snapshot.readable(Kind.SERVICE)
            and not snapshot.service(service)
        ):
            raise AuditUsageError(f"service {service} not found in {snapshot.source}")
        report = audits.audit(
            snapshot=snapshot,
            services=[service] if service is not None else None,
            baseline=baseline,
        )
    except (AuditUsageError, InvalidServiceRef, audits.BaselineInvalid) as e:
        print(f"meshgate audit: {e}", file=err)
        return EXIT_USAGE
    if args.format == "json":
        print(json.dumps(report.to_data(), indent=2), file=out)
    else:
        out.write(render_text(report, snapshot=snapshot))
    if report.unserved and args.format != "json":
        kinds = ", ".join(report.unserved)
        print(f"meshgate audit: not served by this cluster: {kinds} (counted as none)", file=err)
    if snapshot.errors:
        kinds = ", ".join(sorted(kind.value for kind in snapshot.errors))
        print(f"meshgate audit: could not read {kinds}; those verdicts are unknown", file=err)
        return EXIT_USAGE
    return EXIT_FAIL_ON if _fail_on_matched(report, args.fail_on) else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    """`meshgate audit ...` on its own (`python -m bot.cli_audit audit ...`)."""
    parser = argparse.ArgumentParser(prog="meshgate")
    register(parser.add_subparsers(metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def render_text(report: audits.AuditReport, *, snapshot: ClusterSnapshot) -> str:
    """The report as a table of services, then findings, then regressions grouped by cause."""
    return audit_render.text(report, source=snapshot.source or "the cluster")


def _fail_on_matched(report: audits.AuditReport, fail_on: str | None) -> bool:
    if fail_on == "error":
        return any(f.severity is Severity.ERROR for s in report.services for f in s.findings)
    if fail_on == "regression":
        return bool(report.regressions)
    return False


def _read_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as e:
        raise AuditUsageError(f"cannot read baseline {path}: {e.strerror or e}") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AuditUsageError(f"baseline {path} is not JSON: {e}") from e
    audits.parse(data, source=str(path))  # a clear error now, before reading the cluster
    if not isinstance(data, dict):
        raise AuditUsageError(f"baseline {path} is not a JSON object")
    return data


def _read(reader: ClusterReader) -> ClusterSnapshot:
    """One snapshot; a live reader's connections are released afterwards."""
    try:
        return reader.snapshot()
    finally:
        close = getattr(reader, "close", None)
        if callable(close):
            close()


def _reader(args: argparse.Namespace) -> ClusterReader:
    if args.manifests is not None:
        if not args.manifests.is_dir():
            raise AuditUsageError(f"--manifests {args.manifests}: not a folder")
        return ManifestReader(args.manifests)
    context = args.context
    if context is None:
        try:
            context = Settings().kube_context
        except ValidationError as e:
            raise AuditUsageError(f"invalid MESHGATE_ settings: {e.error_count()} error(s)") from e
    # The kubernetes client loads only when a live cluster is asked for.
    from bot.kube.errors import KubeError
    from bot.kube.live import LiveClusterReader

    try:
        return LiveClusterReader.from_kubeconfig(context=context)
    except KubeError as e:
        raise AuditUsageError(f"cannot use kubeconfig context {context or '(current)'}: {e}") from e


if __name__ == "__main__":
    sys.exit(main())
