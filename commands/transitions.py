"""One pass per rollout event: read once, decide once, write once, then carry out.

    read     the rollout (one GET) and, when the event needs it, the cluster (one snapshot)
    decide   workflows.rollout.machine.decide -> new state, happenings, intents
    write    one compare-and-set of the document with its trail entry (a lost race: decide
             again on the newer document)
    carry    apply or revert the changes the intents name; a change the cluster refuses comes
             back as the ApplyFailed event, decided and written the same way
    verify   a phase now verifying is decided at once as meshgate's Verify event, on a fresh
             read of the cluster (a transition where nothing happened is not written)

Every refusal, whether the machine's or one raised while preparing the decision (a change that
cannot be built, a pre-flight refusal, a dry run the server rejects), is written to the
rollout's history. What an event is decided on comes from `machine.items_to_check`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from commands import baselines, carrying, changes, checking, numbers, recording
from commands.context import Context
from commands.errors import CommandError
from commands.replies import ErrorView, Reply
from commands.views import rollout_view
from workflows.errors import ErrorCode
from workflows.gates.checklist import ChecklistLine
from workflows.mesh.snapshot import ClusterSnapshot, Kind
from workflows.ports import DirectoryUnavailable, StoreConflict
from workflows.rollout import machine
from workflows.rollout.events import (
    MESHGATE,
    Actor,
    Advance,
    ApplyFailed,
    Event,
    Facts,
    Refused,
    Start,
    Verify,
)
from workflows.rollout.happenings import ApplyChange, DryRun, HappeningKind, Transition
from workflows.rollout.state import Rollout, RolloutState
from workflows.rollout.verification import ToCheck

# Each lost race means another writer succeeded; 100 rounds covers far more than 50 clickers.
_MAX_ROUNDS = 100


@dataclass
class _Reads:
    """What this pass read from the cluster: at most one snapshot, taken when first needed."""

    ctx: Context
    snapshot: ClusterSnapshot | None = None
    why: str = ""
    done: bool = False

    def cluster(self) -> tuple[ClusterSnapshot | None, str]:
        if not self.done:
            self.snapshot, self.why = checking.read_cluster(self.ctx)
            self.done = True
        return self.snapshot, self.why


def run(event: Event, *, actor: str, ctx: Context) -> Reply:
    """Run `event`, asked by `actor`, against the stored rollout of its service."""
    now = ctx.clock()
    reads = _Reads(ctx)
    warnings = _confirm_service(event, reads) if isinstance(event, Start) else []
    transition = _decide_and_write(event, actor=actor, ctx=ctx, reads=reads, now=now)
    outcome = carrying.carry_out(
        event, transition, ctx=ctx, snapshot=lambda: _snapshot_for_changes(reads)
    )
    if outcome.failed_apply is not None:
        transition = _after_failed_apply(event, transition, outcome, ctx=ctx, now=now)
    elif _verify_now(event, transition):
        reads = _Reads(ctx)  # after a write: the cluster as it is now
        transition = _verified(event, transition, outcome, ctx=ctx, reads=reads, now=now)
    warnings += baselines.after(ctx, transition)
    shown = _checklist_to_show(transition.rollout, ctx=ctx, reads=reads, event=event)
    view = rollout_view(transition.rollout, playbook=ctx.playbook, checklist=shown)
    error = None
    if outcome.error is not None:
        error = ErrorView(code=outcome.error.code, message=outcome.error.message)
    return Reply(
        command=event.verb,
        ok=error is None,
        error=error,
        rollout=view,
        happened=list(transition.happened),
        changes=outcome.changes or None,
        warnings=warnings or None,
    )


def _confirm_service(event: Start, reads: _Reads) -> list[str]:
    """Refuse a service the cluster does not have; a warning when it cannot be confirmed."""
    snapshot, why = reads.cluster()
    if snapshot is not None and snapshot.readable(Kind.SERVICE):
        if snapshot.service(event.service) is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no Service {event.service} in {snapshot.source or 'the cluster'}; "
                "check the namespace and name",
            )
        return []
    reason = why or (snapshot.errors.get(Kind.SERVICE, "") if snapshot else "")
    return [f"could not confirm that {event.service} exists: {reason}"]


def _decide_and_write(
    event: Event,
    *,
    actor: str,
    ctx: Context,
    reads: _Reads,
    now: datetime,
    known: Rollout | None = None,
) -> Transition:
    """Decide on the stored rollout and write the result; again on the newer one if it moved.

    `known` is the rollout this pass has just written: the first round decides on it without
    reading it back (a lost race reads the newer one, as always).
    """
    service = str(event.service)
    for _ in range(_MAX_ROUNDS):
        stored, known = (known, None) if known is not None else (ctx.store.load(service), None)
        if stored is not None:
            stored = machine.current(stored, now=now).rollout  # expiry is decided, not stored
        gate: tuple[ChecklistLine, ...] = ()
        try:
            who = _actor(ctx, actor, stored, event)
            to_check = machine.items_to_check(stored, event, playbook=ctx.playbook)
            if to_check is not None and stored is not None:
                gate = _lines(ctx, reads, rollout=stored, service=event, to_check=to_check)
            transition = _decide(event, who, stored, ctx=ctx, now=now, gate=gate, reads=reads)
        except (Refused, CommandError) as refusal:
            recording.record_refusal(
                ctx, event, actor=actor, stored=stored, refusal=refusal, now=now
            )
            raise recording.as_command_error(refusal, event=event) from refusal
        if not transition.happened and stored is not None:
            return Transition(stored)  # nothing happened (a verification still pending)
        # `current` may expire a request in memory; the stored version is the same
        expected = None if stored is None else stored.version
        entry = recording.entry(event, actor, stored, transition, now=now)
        if ctx.store.commit(transition.rollout, expected_version=expected, entries=[entry]):
            return transition
    raise StoreConflict(f"{service} changed {_MAX_ROUNDS} times while this ran; try again")


def _decide(
    event: Event,
    who: Actor,
    stored: Rollout | None,
    *,
    ctx: Context,
    now: datetime,
    gate: tuple[ChecklistLine, ...],
    reads: _Reads,
) -> Transition:
    def decide(facts: Facts) -> Transition:
        return machine.decide(
            stored,
            event,
            actor=who,
            facts=facts,
            playbook=ctx.playbook,
            now=now,
            default_approvers=ctx.default_approvers,
        )

    transition = decide(Facts(checklist=gate))
    to_change = [i for i in transition.intents if isinstance(i, DryRun | ApplyChange)]
    requested = any(h.kind is HappeningKind.ADVANCE_REQUESTED for h in transition.happened)
    if not isinstance(event, Advance) or not (to_change or requested):
        return transition
    # a request is being made: approvers see the numbers (one snapshot, read only now)
    seen = numbers.metrics_snapshot(ctx, service=event.service) if requested else None
    facts = Facts(checklist=gate, metrics=seen)
    if to_change:
        snapshot = _snapshot_for_changes(reads)
        planned = changes.plan(
            ctx, change=to_change[0].change, service=event.service, snapshot=snapshot, now=now
        )
        changes.refuse_if_futile(planned, service=event.service, snapshot=snapshot)
        if isinstance(to_change[0], DryRun):
            if ctx.writer is not None:
                facts = dataclasses.replace(facts, preview=changes.preview(ctx.writer, planned))
            else:  # nothing is written: the request carries the change as YAML to commit
                facts = dataclasses.replace(facts, preview="", manifest=changes.as_yaml(planned))
    return decide(facts) if requested else transition


def _lines(
    ctx: Context, reads: _Reads, *, rollout: Rollout, service: Event, to_check: ToCheck
) -> tuple[ChecklistLine, ...]:
    snapshot, why = reads.cluster()
    return checking.lines_for(
        ctx,
        service=service.service,
        to_check=to_check,
        attestations=rollout.attestations,
        snapshot=snapshot,
        snapshot_error=why or "no cluster configured (--manifests or --context)",
    )


def _verify_now(event: Event, transition: Transition) -> bool:
    """True when this pass put a phase into verifying (or resumed one): check it at once."""
    return (
        not isinstance(event, Verify)
        and bool(transition.happened)
        and transition.rollout.state is RolloutState.VERIFYING
    )


def _verified(
    event: Event,
    transition: Transition,
    outcome: carrying.Outcome,
    *,
    ctx: Context,
    reads: _Reads,
    now: datetime,
) -> Transition:
    """Decide meshgate's Verify right after the change, and carry out what it orders."""
    verify = Verify(service=event.service)
    checked = _decide_and_write(
        verify, actor=MESHGATE.id, ctx=ctx, reads=reads, now=now, known=transition.rollout
    )
    if not checked.happened:
        return transition
    more = carrying.carry_out(
        verify, checked, ctx=ctx, snapshot=lambda: _snapshot_for_changes(reads)
    )
    outcome.changes.extend(more.changes)
    outcome.error = outcome.error or more.error
    return Transition(checked.rollout, transition.happened + checked.happened, ())


def _actor(ctx: Context, actor: str, stored: Rollout | None, event: Event) -> Actor:
    """`actor` with the approver groups (of those that decide `event`) they belong to."""
    candidates = machine.groups_in_question(
        stored, event, playbook=ctx.playbook, default=ctx.default_approvers
    )
    if not candidates or ctx.directory is None:
        return Actor(actor)
    try:
        return Actor(actor, ctx.directory.groups_of(actor, candidates=sorted(candidates)))
    except DirectoryUnavailable as e:
        raise CommandError(ErrorCode.UNAVAILABLE, f"{e}; nothing was decided, try again") from e


def _after_failed_apply(
    event: Event, transition: Transition, outcome: carrying.Outcome, *, ctx: Context, now: datetime
) -> Transition:
    """Decide ApplyFailed on the rollout just written: back to the phase, nothing applied."""
    assert outcome.failed_apply is not None and outcome.error is not None  # noqa: S101
    failed = ApplyFailed(
        service=event.service, phase=outcome.failed_apply, reason=outcome.error.message
    )
    back = _decide_and_write(failed, actor=MESHGATE.id, ctx=ctx, reads=_Reads(ctx), now=now)
    outcome.error.message = (
        f"{outcome.error.message}; nothing was changed and {event.service} is back at phase "
        f"{back.rollout.phase} ({back.rollout.state.value})"
    )
    return Transition(back.rollout, transition.happened + back.happened, ())


def _snapshot_for_changes(reads: _Reads) -> ClusterSnapshot:
    snapshot, why = reads.cluster()
    if snapshot is None:
        raise CommandError(ErrorCode.UNAVAILABLE, f"cannot plan the change: {why}")
    return snapshot


def _checklist_to_show(
    rollout: Rollout,
    *,
    ctx: Context,
    reads: _Reads,
    event: Event,
) -> tuple[ChecklistLine, ...]:
    """The checklist for the reply: the pending request's, else the current phase's gate.

    A checklist belongs to the phase it was evaluated for: after a phase completes, the next
    phase's gate is evaluated, on the snapshot this pass already read when it read one.
    """
    if rollout.request is not None:
        return rollout.request.checklist
    if rollout.finished:
        return ()
    to_check = machine.checklist_of(rollout, playbook=ctx.playbook)
    return _lines(ctx, reads, rollout=rollout, service=event, to_check=to_check)
