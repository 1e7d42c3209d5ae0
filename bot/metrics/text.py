"""Text of a metrics snapshot (CLI and console): every number, or why there is none.

A value Prometheus had no data for reads `no data`; one it could not give reads
`unavailable (reason)`; neither is ever shown as 0.
"""

from __future__ import annotations

from workflows.gates.metrics_snapshot import MetricsSnapshot, Reading


def text(snapshot: MetricsSnapshot) -> str:
    """The snapshot as aligned lines, one metric per line, then the callers."""
    at = snapshot.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        ("request rate", _show(snapshot, "request_rate", "{:.4g} req/s")),
        ("success rate", _show(snapshot, "success_rate", "{:.2%}")),
        ("latency p50", _show(snapshot, "latency_ms.p50", "{:.4g} ms")),
        ("latency p90", _show(snapshot, "latency_ms.p90", "{:.4g} ms")),
        ("latency p99", _show(snapshot, "latency_ms.p99", "{:.4g} ms")),
        ("mTLS share", _show(snapshot, "mtls_share", "{:.2%}")),
        ("403 rate", _show(snapshot, "forbidden_rate", "{:.4g} req/s")),
        ("PassthroughCluster", _show(snapshot, "passthrough_rate", "{:.4g} req/s")),
        ("BlackHoleCluster", _show(snapshot, "blackhole_rate", "{:.4g} req/s")),
        ("shadow denials", _show(snapshot, "shadow_denials", "{:.4g} req/s")),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"metrics of {snapshot.service} at {at} over {snapshot.window} (server side)"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    lines.append(f"  {'plaintext callers'.ljust(width)}  " + _callers(snapshot))
    lines.append(f"  {'callers (mTLS id)'.ljust(width)}  " + _principals(snapshot))
    return "\n".join(lines)


def summary(snapshot: MetricsSnapshot) -> str:
    """One line for an approval request: the numbers approvers weigh, or why they are missing."""
    parts = [
        "rate " + _show(snapshot, "request_rate", "{:.4g} req/s"),
        "success " + _show(snapshot, "success_rate", "{:.2%}"),
        "p99 " + _show(snapshot, "latency_ms.p99", "{:.4g} ms"),
        "mTLS " + _show(snapshot, "mtls_share", "{:.2%}"),
        "plaintext callers " + _callers(snapshot),
    ]
    return f"Metrics over {snapshot.window}: " + " · ".join(parts)


def compare(before: MetricsSnapshot, after: MetricsSnapshot) -> str:
    """Before and after a change, one metric a line: `success rate  99.20% -> 99.40%`."""
    rows = [
        ("request rate", "request_rate", "{:.4g} req/s"),
        ("success rate", "success_rate", "{:.2%}"),
        ("latency p99", "latency_ms.p99", "{:.4g} ms"),
        ("mTLS share", "mtls_share", "{:.2%}"),
        ("403 rate", "forbidden_rate", "{:.4g} req/s"),
    ]
    width = max(len(label) for label, _, _ in rows)
    lines = [
        f"{label.ljust(width)}  {_show(before, field, fmt)} -> {_show(after, field, fmt)}"
        for label, field, fmt in rows
    ]
    span = f"({before.at:%H:%M} -> {after.at:%H:%M} UTC, over {after.window})"
    return span + "\n" + "\n".join(lines)


def _show(snapshot: MetricsSnapshot, field: str, fmt: str) -> str:
    reading = snapshot.reading(field)
    if reading is Reading.UNAVAILABLE:
        return f"unavailable ({snapshot.unavailable[field]})"
    if reading is Reading.NO_DATA:
        return "no data"
    return fmt.format(snapshot.value(field))


def _callers(snapshot: MetricsSnapshot) -> str:
    reading = snapshot.reading("plaintext_callers")
    if reading is not Reading.VALUE or not snapshot.plaintext_callers:
        return "none" if reading is Reading.VALUE else _show(snapshot, "plaintext_callers", "")
    return ", ".join(
        f"{c.namespace}/{c.workload} ({c.rate:.3g} req/s)" for c in snapshot.plaintext_callers
    )


def _principals(snapshot: MetricsSnapshot) -> str:
    reading = snapshot.reading("callers")
    if reading is not Reading.VALUE or not snapshot.callers:
        return "none" if reading is Reading.VALUE else _show(snapshot, "callers", "")
    return ", ".join(f"{c.principal} ({c.rate:.3g} req/s)" for c in snapshot.callers)
