"""Text of an audit report: the table a person scans in seconds (CLI and console)."""

from __future__ import annotations

from collections.abc import Sequence

from workflows.audit.report import AuditReport, FindingOut, Regression
from workflows.mesh.findings import Severity

COLUMNS = ("SERVICE", "SIDECAR", "MTLS", "AUTHZ", "FINDINGS")


def text(report: AuditReport, *, source: str) -> str:
    """The report as a table of services, then findings, then regressions grouped by cause."""
    rows = [COLUMNS] + [
        (
            s.service,
            s.sidecar.value,
            s.mtls.mode.value,
            s.authz.default.value + (" (allow-all)" if s.authz.allow_all else ""),
            _count(s.findings),
        )
        for s in report.services
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [f"meshgate audit of {source}: {len(report.services)} services"]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    findings = [(s.service, f) for s in report.services for f in s.findings]
    if findings:
        lines += ["", "FINDINGS"]
        name_width = max(len(name) for name, _ in findings)
        for name, f in findings:
            lines.append(f"{name.ljust(name_width)}  {f.code} {f.severity.value:<7}  {f.message}")
            if f.fix:
                lines.append(f"{'':{name_width}}  {'':13}  fix: {f.fix}")
    if report.regressions:
        lines += ["", "REGRESSIONS (by cause)"]
        by_cause: dict[str, list[Regression]] = {}
        for regression in report.regressions:
            by_cause.setdefault(regression.cause, []).append(regression)
        for cause, group in by_cause.items():
            lines.append(f"{cause}: {len(group)} regression(s)")
            where = [r.service + (f" port {r.port}" if r.port is not None else "") for r in group]
            width = max(len(w) for w in where)
            for r, at in zip(group, where, strict=True):
                lines.append(f"  {r.kind.value:<21} {at:<{width}}  {r.before} -> {r.after}")
    return "\n".join(lines) + "\n"


def _count(findings: Sequence[FindingOut]) -> str:
    if not findings:
        return "0"
    by = {sev: sum(1 for f in findings if f.severity is sev) for sev in Severity}
    parts = [f"{n} {sev.value}" for sev, n in by.items() if n]
    return f"{len(findings)} ({', '.join(parts)})"
