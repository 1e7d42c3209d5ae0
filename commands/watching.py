"""One sweep of the regression watch: read once, decide once, write each alert, then show.

    read     the baselines (stored ones, or an audit JSON file), one cluster snapshot, and
             (with Prometheus) one batch of numbers for the services held to STRICT
    decide   workflows.watch.baselines.check (the audit's regression engine), then
             workflows.watch.sweeping.decide -> alert changes, lines, read health
    write    one compare-and-set per changed alert (an ack that raced it: rebase and retry)
    show     every alert whose latest revision its messages do not show yet (this sweep's,
             and any an earlier sweep wrote but could not show: a replica that died between
             writing and posting leaves them in the outbox for the next sweep)

`sweep_once_per_tick` is what the scheduler runs on every replica: one replica claims each
aligned tick, and a lease (in the injected clock's time) keeps two sweeps from overlapping; a
replica that dies mid-sweep holds the lease only until it runs out, then the next tick sweeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from commands.context import Context
from workflows.audit.report import AuditReport, Regression
from workflows.gates.metrics_snapshot import Target
from workflows.mesh.snapshot import ClusterSnapshot
from workflows.ports import StoreUnavailable
from workflows.watch import baselines, plaintext, sweeping
from workflows.watch.alerts import Alert
from workflows.watch.ports import AlertNotifier, WatchStore
from workflows.watch.sweeping import Line, LineState, Policy, Reading

log = logging.getLogger(__name__)

# A sweep's write rarely races more than one ack; five rounds bounds a pathological storm.
_MAX_ROUNDS = 5
# The lease outlives a normal sweep (seconds) by far, and a dead replica's by two ticks at most.
LEASE_TICKS = 2


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: its lines, what it showed, and why it did not run (if it did not)."""

    ran: bool
    lines: tuple[Line, ...] = ()
    shown: int = 0
    problem: str = ""  # what could not be read ("" when everything was)
    watched: int = 0
    why_not: str = ""


def sweep(
    ctx: Context,
    *,
    watch: WatchStore,
    notifier: AlertNotifier | None,
    policy: Policy,
    baseline: AuditReport | None = None,
) -> SweepResult:
    """One sweep against `baseline` (default: the baselines stored for completed phases)."""
    now = ctx.clock()
    if baseline is None:
        baseline = baselines.as_report(watch.baselines())
    watched = [s.service for s in baseline.services]
    regressions, problem = _read(ctx, baseline)
    reading = Reading(regressions=regressions, watched=watched, problem=problem)
    before = watch.open_alerts()
    outcome = sweeping.decide(
        reading=reading, alerts=before, health=watch.health(), now=now, policy=policy
    )
    known = {a.id: a for a in before}
    lines = {line.alert.id: line for line in outcome.lines}
    for decided in outcome.changed:
        written = _write(watch, decided, known=known.get(decided.id))
        if written is not None and decided.id in lines:
            lines[decided.id] = Line(written, lines[decided.id].state)
    watch.put_health(outcome.health)
    shown = deliver(watch=watch, notifier=notifier) if notifier is not None else 0
    return SweepResult(
        ran=True,
        lines=tuple(lines.values()),
        shown=shown,
        problem=problem,
        watched=len(watched),
    )


def sweep_once_per_tick(
    ctx: Context,
    *,
    watch: WatchStore,
    notifier: AlertNotifier | None,
    policy: Policy,
    interval: timedelta,
    holder: str,
) -> SweepResult:
    """Sweep if this replica claims the current aligned tick and the lease; else do nothing."""
    now = ctx.clock()
    seconds = max(int(interval.total_seconds()), 1)
    tick = int(now.timestamp()) // seconds
    try:
        if not watch.claim_tick(tick):
            return SweepResult(ran=False, why_not=f"tick {tick} was claimed by another replica")
        if not watch.lease(holder=holder, now=now, until=now + LEASE_TICKS * interval):
            return SweepResult(ran=False, why_not="another replica is still sweeping")
        result = sweep(ctx, watch=watch, notifier=notifier, policy=policy)
        # released only after a finished sweep: a crash keeps it until it runs out
        watch.release(holder=holder)
    except StoreUnavailable as e:
        log.warning("watch sweep skipped: %s", e)
        return SweepResult(ran=False, why_not=str(e))
    return result


def deliver(*, watch: WatchStore, notifier: AlertNotifier) -> int:
    """Show every alert whose latest revision is not shown yet, oldest first; how many."""
    shown = 0
    for alert, revision in sorted(watch.undelivered(), key=lambda p: p[0].opened_at):
        if notifier.show(alert, shown_revision=revision):
            watch.mark_delivered(alert)
            shown += 1
    return shown


def _read(ctx: Context, baseline: AuditReport) -> tuple[list[Regression], str]:
    """The regressions against `baseline` and what could not be read ("" if nothing)."""
    if ctx.cluster is None:
        return [], "no cluster configured (--manifests or --context)"
    try:
        snapshot = ctx.cluster.snapshot()
    except Exception as e:  # a reader should not raise; if it does, the watch is blind, not clean
        log.exception("cluster read failed in a watch sweep")
        return [], f"reading the cluster failed: {type(e).__name__}"
    report = baselines.check(snapshot=snapshot, baseline=baseline)
    found, unread = _plaintext(ctx, baseline)
    problems = "; ".join(p for p in (_problem(snapshot), unread) if p)
    return [*report.regressions, *found], problems


# Plaintext is judged over a short window: a watch wants to know what happens now.
PLAINTEXT_WINDOW = timedelta(minutes=5)


def _plaintext(ctx: Context, baseline: AuditReport) -> tuple[list[Regression], str]:
    """Plaintext traffic reaching STRICT services: one batch of queries for all of them."""
    strict = plaintext.held_to_strict(baseline)
    if ctx.metrics is None or not strict:
        return [], ""
    snapshots = ctx.metrics.snapshots(
        targets=[Target(service=s) for s in strict], at=ctx.clock(), window=PLAINTEXT_WINDOW
    )
    return plaintext.regressions(snapshots=snapshots)


def _problem(snapshot: ClusterSnapshot) -> str:
    if not snapshot.errors:
        return ""
    return "; ".join(f"{kind.value}: {why}" for kind, why in sorted(snapshot.errors.items()))


def _write(watch: WatchStore, decided: Alert, *, known: Alert | None) -> Alert | None:
    """Compare-and-set one alert; on a lost race, rebase on what a person wrote and retry."""
    expected = None if known is None else known.version
    for _ in range(_MAX_ROUNDS):
        written = watch.put_alert(decided, expected_version=expected)
        if written is not None:
            return written
        fresh = watch.alert(decided.id)
        if fresh is None or (known is None and fresh is not None and not fresh.open):
            return None
        decided = sweeping.rebase(decided, onto=fresh)
        expected = fresh.version
    log.warning("alert %s kept changing under the sweep; the next sweep retries", decided.id)
    return None


__all__ = ["LineState", "SweepResult", "deliver", "sweep", "sweep_once_per_tick"]
