"""`meshgate audit`: mesh posture, findings and regressions of services, for people and CI.

    meshgate audit [--manifests DIR | --kubeconfig FILE --context CTX] [-n NS]
                   [--service NS/NAME] [--baseline FILE]
                   [--format text|json] [--fail-on error|regression]

Reads the cluster once (a folder of manifests, or a live cluster with credentials chosen as
kubectl chooses them: bot.cli.cluster), runs the pure `workflows.audit.audit`, and prints
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

from bot.cli import cluster
from bot.console import audit_render
from bot.errors import BotError, StartupError
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
    cluster.add_arguments(parser)
    parser.add_argument(
        "--service", metavar="NS/NAME", help="audit only this service (NAME with -n)"
    )
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
    namespace = getattr(args, "namespace", None)
    try:
        service = _service(args.service, namespace) if args.service else None
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
            services=[service] if service is not None else _in_namespace(snapshot, namespace),
            baseline=baseline,
        )
    except (AuditUsageError, InvalidServiceRef, audits.BaselineInvalid, StartupError) as e:
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


def _service(text: str, namespace: str | None) -> ServiceRef:
    """`--service NS/NAME`, or `--service NAME -n NS` as kubectl reads it."""
    if namespace and "/" not in text:
        text = f"{namespace}/{text}"
    return ServiceRef.parse(text)


def _in_namespace(snapshot: ClusterSnapshot, namespace: str | None) -> list[ServiceRef] | None:
    """The services of `-n NS` (None: every service)."""
    if namespace is None:
        return None
    return [
        ServiceRef(namespace, str(s["metadata"]["name"]))
        for s in snapshot.of(Kind.SERVICE)
        if (s.get("metadata") or {}).get("namespace") == namespace
    ]


def _reader(args: argparse.Namespace) -> ClusterReader:
    if args.manifests is not None:
        if getattr(args, "kubeconfig", None) or getattr(args, "context", None):
            raise AuditUsageError("--manifests reads no cluster: drop --kubeconfig and --context")
        if not args.manifests.is_dir():
            raise AuditUsageError(f"--manifests {args.manifests}: not a folder")
        return ManifestReader(args.manifests)
    try:
        settings = Settings()
    except ValidationError as e:
        raise AuditUsageError(f"invalid MESHGATE_ settings: {e.error_count()} error(s)") from e
    chosen = cluster.target(args, settings)
    if chosen is None:
        raise AuditUsageError(
            "no cluster to read: no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and "
            "not in a pod; pass --manifests DIR to audit a folder of manifests"
        )
    # The kubernetes client loads only when a live cluster is asked for.
    from bot.kube.errors import KubeError
    from bot.kube.live import LiveClusterReader

    try:
        return LiveClusterReader.for_target(chosen, secret_namespaces=settings.secret_namespaces)
    except KubeError as e:
        raise AuditUsageError(f"cannot use the {chosen.describe()}: {e}") from e


if __name__ == "__main__":
    sys.exit(main())
