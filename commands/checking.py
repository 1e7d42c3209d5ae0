"""Evaluating a phase's gate for a service: read the cluster once, run the checks, build lines.

Metric gates need a metrics source; until one is configured they are `unknown` and say so.
"""

from __future__ import annotations

from commands.context import Context
from workflows.gates import checklist, checks
from workflows.gates.checklist import AttestationNote, ChecklistLine
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.naming import ServiceRef
from workflows.playbook import Phase

_NO_METRICS = CheckResult(
    Verdict.UNKNOWN,
    reason="metric gates need Prometheus, which this version of meshgate does not query yet",
    fix="check the metric by hand; attest it in a custom playbook if it must gate",
)


def read_cluster(ctx: Context) -> tuple[ClusterSnapshot | None, str]:
    """One snapshot of the cluster, or None and why not."""
    if ctx.cluster is None:
        return None, "no cluster configured (--manifests or --context)"
    return ctx.cluster.snapshot(), ""


def gate_lines(
    ctx: Context,
    *,
    service: ServiceRef,
    phase: Phase,
    attestations: tuple[AttestationNote, ...],
    snapshot: ClusterSnapshot | None = None,
    snapshot_error: str = "",
) -> tuple[ChecklistLine, ...]:
    """The phase's gate for `service`, every item evaluated; nothing unchecked passes."""
    check_ids = [item.check for item in phase.gate if item.check is not None]
    if snapshot is None and not snapshot_error and check_ids:
        snapshot, snapshot_error = read_cluster(ctx)
    results = checks.run(
        snapshot=snapshot,
        service=service,
        check_ids=check_ids,
        registry=ctx.checks,
        snapshot_error=snapshot_error,
    )
    metric_results = {item.id: _NO_METRICS for item in phase.gate if item.metric is not None}
    return checklist.evaluate(
        phase_id=phase.id,
        items=phase.gate,
        check_results=results,
        metric_results=metric_results,
        attestations=attestations,
    )
