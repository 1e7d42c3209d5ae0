"""What every posture check shares: reading its inputs, saying `unknown`, listing offenders.

A check reads the Service first (`prelude`): an unreadable kind it needs gives `unknown` naming
the kind, a service missing from the snapshot gives `fail` with reason "service not found".
`workload_check` builds a check that judges each workload's posture; a judge answers a problem,
None (fine) or `Undecided` (meshgate cannot tell, so the check is `unknown`, never `pass`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workflows.gates.checks import CheckFunction
from workflows.gates.verdicts import CheckResult, Verdict
from workflows.mesh import index, objects, posture
from workflows.mesh.findings import Finding
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workload_posture import WorkloadPosture
from workflows.mesh.workloads import selected_pods, workloads_of
from workflows.naming import ServiceRef

LISTED = 3  # how many offenders a reason names before "and N more"


@dataclass(frozen=True)
class Undecided:
    """A judge's answer when meshgate cannot decide for a workload, and why."""

    reason: str


Judge = Callable[[WorkloadPosture], "str | Undecided | None"]


def prelude(
    snapshot: ClusterSnapshot, ref: ServiceRef, kinds: Iterable[Kind]
) -> RawObject | CheckResult:
    """The Service, or the result that stops the check (unreadable kind, missing service)."""
    if not snapshot.readable(Kind.SERVICE):
        return unknown(snapshot, [Kind.SERVICE])
    service = index.of(snapshot).find(Kind.SERVICE, namespace=ref.namespace, name=ref.name)
    if service is None:
        return CheckResult(
            Verdict.FAIL,
            reason="service not found",
            fix=f"check the name: kubectl get service -n {ref.namespace} {ref.name}",
        )
    missing = [kind for kind in kinds if not snapshot.readable(kind)]
    return unknown(snapshot, missing) if missing else service


def unknown(snapshot: ClusterSnapshot, kinds: list[Kind]) -> CheckResult:
    """`unknown` because these kinds could not be read."""
    why = "; ".join(f"{kind.value}: {snapshot.error(kind)}" for kind in kinds)
    return CheckResult(
        Verdict.UNKNOWN,
        reason=f"could not read {why}",
        fix="grant meshgate list on these kinds, or retry when the API server answers",
    )


def listing(items: list[str]) -> str:
    """The first few items, then "and N more"."""
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def from_findings(found: Iterable[Finding], *, ok: str) -> CheckResult:
    """`pass` with `ok` when there are no findings, else `fail` naming them."""
    problems = list(found)
    if not problems:
        return CheckResult(Verdict.PASS, reason=ok)
    return CheckResult(
        Verdict.FAIL,
        reason="; ".join(f.message for f in problems[:LISTED])
        + (f" (and {len(problems) - LISTED} more)" if len(problems) > LISTED else ""),
        fix=problems[0].fix,
    )


def workload_check(kinds: tuple[Kind, ...], judge: Judge, *, ok: str, fix: str) -> CheckFunction:
    """A check over each workload's posture: a problem fails it, an Undecided makes it unknown."""

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = prelude(snapshot, ref, kinds)
        if isinstance(service, CheckResult):
            return service
        if not workloads_of(snapshot=snapshot, service=service):
            return CheckResult(
                Verdict.UNKNOWN,
                reason=f"{objects.ref(service)} selects no pods, so there is nothing to verify",
                fix="start the workload, then check again",
            )
        assessed = posture.assess(snapshot=snapshot, service=ref)
        answers = [judge(wp) for wp in assessed.workloads]
        problems = [a for a in answers if isinstance(a, str)]
        if problems:
            return CheckResult(Verdict.FAIL, reason=listing(problems), fix=fix)
        undecided = [a.reason for a in answers if isinstance(a, Undecided)]
        if undecided:
            return CheckResult(
                Verdict.UNKNOWN,
                reason=listing(undecided),
                fix="verify it by hand; meshgate cannot decide this case",
            )
        names = [wp.workload.ref for wp in assessed.workloads]
        return CheckResult(Verdict.PASS, reason=f"{ok}: {listing(names)}")

    return check


def pod_check(
    *, holds: Callable[[RawObject], bool], meets: str, fix: str, empty: Verdict
) -> CheckFunction:
    """A check that every pod of the service `holds`; `empty` is the verdict without pods."""

    def check(snapshot: ClusterSnapshot, ref: ServiceRef) -> CheckResult:
        service = prelude(snapshot, ref, [Kind.POD])
        if isinstance(service, CheckResult):
            return service
        pods = selected_pods(snapshot=snapshot, service=service)
        if not pods:
            return CheckResult(
                empty,
                reason=f"{objects.ref(service)} selects no pods",
                fix="check the Service selector and that its Deployment has replicas",
            )
        bad = sorted(objects.name(p) for p in pods if not holds(p))
        if bad:
            return CheckResult(Verdict.FAIL, reason=f"pod {listing(bad)}: not {meets}", fix=fix)
        return CheckResult(Verdict.PASS, reason=f"all {len(pods)} pods {meets}")

    return check
