"""The per-service rollout state machine.

`decide(rollout, event, playbook=..., now=...)` is a pure function: it returns the new state and
what happened, or raises Refused with the code a user sees (DESIGN.md, reply JSON error codes).
The approval policy (who may approve, how many, self-approval, expiry) is enforced here, so
every front end (Slack, console, tests) gets the same answers. Carrying out a phase's change is
the caller's job: a PhaseCompleted happening carries the change to apply, RolledBack the one to
revert.

States::

    start ──> in_progress ──advance (gate passes)──> awaiting_approval ──approve × N──┐
                 ^    │  └──(0 approvals needed)──────────────────────────────────────┤
                 │    │                   reject / expiry ──> in_progress            v
                 │    └──abort──> aborted            next phase: in_progress, or completed
                 └── rollback (previous phase) ──> rolled_back ──advance──> ...
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.gates.checklist import AttestationNote, ChecklistLine, blockers, timestamp
from workflows.playbook import ApprovalPolicy, Phase, PhaseChange, Playbook


class RolloutState(StrEnum):
    """Where a rollout stands (DESIGN.md, reply JSON `state`)."""

    IN_PROGRESS = "in_progress"  # working on the current phase's gate
    AWAITING_APPROVAL = "awaiting_approval"  # gate passed; approvals being collected
    COMPLETED = "completed"  # every phase done
    ROLLED_BACK = "rolled_back"  # the last phase's change was reverted; back at that phase
    ABORTED = "aborted"  # stopped by a person; start again to resume


class RefusalCode(StrEnum):
    """Why an event was refused (DESIGN.md, reply JSON error codes)."""

    NOT_FOUND = "not_found"  # no such rollout or checklist item
    NOT_AUTHORIZED = "not_authorized"  # the actor may not do this
    SELF_APPROVAL = "self_approval"  # the requester approving their own request
    ALREADY_DECIDED = "already_decided"  # the request was decided, or this vote was cast
    GATE_FAILED = "gate_failed"  # required checklist items do not pass
    CONFLICT = "conflict"  # not possible in the rollout's current state


class Refused(Exception):
    """An event the state machine refuses; `message` is written for the person who asked."""

    def __init__(
        self, code: RefusalCode, message: str, *, blockers: Sequence[ChecklistLine] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.blockers = tuple(blockers)


class Outcome(StrEnum):
    """How an approval request ended."""

    APPROVED = "approved"  # enough approvals; the phase completed
    REJECTED = "rejected"  # an approver rejected it, or the requester withdrew it
    EXPIRED = "expired"  # nobody decided before the playbook's expiry
    WITHDRAWN = "withdrawn"  # superseded by a rollback or an abort


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Approval(_Frozen):
    """One approver's vote."""

    by: str
    at: datetime


class ApprovalRequest(_Frozen):
    """A pending request to complete a phase, with the checklist it was made on."""

    id: str
    phase: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    required: int
    approvals: tuple[Approval, ...] = ()
    checklist: tuple[ChecklistLine, ...] = ()
    preview: str = ""  # diff of the objects the change will apply, from a server-side dry run


class Decision(_Frozen):
    """How the most recent approval request ended, so a late click can be told."""

    request_id: str
    phase: str
    outcome: Outcome
    by: str
    at: datetime
    reason: str = ""


class CompletedPhase(_Frozen):
    """A phase done, with the change it applied (what rollback reverts)."""

    phase: str
    at: datetime
    change: PhaseChange | None = None


class Rollout(_Frozen):
    """The whole state of one service's rollout: one JSON document in the store."""

    service: str
    playbook: str
    phase_index: int
    phase: str
    state: RolloutState
    started_by: str
    started_at: datetime
    updated_at: datetime
    attestations: tuple[AttestationNote, ...] = ()
    request: ApprovalRequest | None = None
    last_decision: Decision | None = None
    completed: tuple[CompletedPhase, ...] = ()
    version: int = 0


# Events: what a person (or a button) asks for.


@dataclass(frozen=True)
class Start:
    """Begin the rollout of a service at the playbook's first phase."""

    actor: str
    service: str


@dataclass(frozen=True)
class RequestAdvance:
    """Complete the current phase; `checklist` is its gate, evaluated by the caller."""

    actor: str
    checklist: tuple[ChecklistLine, ...]
    preview: str = ""


@dataclass(frozen=True)
class Approve:
    """Vote for the pending request (`request_id` from a button; None from a typed command)."""

    actor: str
    actor_groups: frozenset[str] = frozenset()
    request_id: str | None = None


@dataclass(frozen=True)
class Reject:
    """Reject the pending request (an approver), or withdraw it (the requester)."""

    actor: str
    actor_groups: frozenset[str] = frozenset()
    reason: str = ""
    request_id: str | None = None


@dataclass(frozen=True)
class Attest:
    """A person vouches for a human checklist item of the current phase."""

    actor: str
    item: str
    note: str = ""


@dataclass(frozen=True)
class Rollback:
    """Return to the previous phase, reverting the change that phase applied.

    Reverting a change that needed approval takes one of that phase's approvers (no second
    person: a rollback is often urgent). `automatic` is meshgate undoing a change it could not
    apply; no chat command can set it.
    """

    actor: str
    actor_groups: frozenset[str] = frozenset()
    automatic: bool = False


@dataclass(frozen=True)
class Abort:
    """Stop the rollout where it stands (changes already applied stay)."""

    actor: str
    reason: str = ""


Event = Start | RequestAdvance | Approve | Reject | Attest | Rollback | Abort


class HappeningKind(StrEnum):
    """What a transition did; the caller records each and carries out changes."""

    STARTED = "started"  # a rollout began at the first phase
    ADVANCE_REQUESTED = "advance_requested"  # approvals are now being collected
    APPROVAL_RECORDED = "approval_recorded"  # one vote counted, more needed
    PHASE_COMPLETED = "phase_completed"  # `change` (if any) must be applied now
    ROLLOUT_COMPLETED = "rollout_completed"  # the last phase completed
    REQUEST_REJECTED = "request_rejected"  # back to in_progress, nothing applied
    REQUEST_EXPIRED = "request_expired"  # nobody decided in time
    REQUEST_WITHDRAWN = "request_withdrawn"  # a rollback or abort superseded it
    ATTESTED = "attested"  # a human item was vouched for
    ROLLED_BACK = "rolled_back"  # `change` (if any) must be reverted now
    ABORTED = "aborted"  # the rollout stopped


@dataclass(frozen=True)
class Happening:
    """One thing a transition did, for the audit trail and for the caller to act on."""

    kind: HappeningKind
    phase: str
    detail: str = ""
    change: PhaseChange | None = None


@dataclass(frozen=True)
class Transition:
    """The new state and what happened on the way."""

    rollout: Rollout
    happened: tuple[Happening, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Approvers:
    """The deployment's default approvers, used where a phase's policy names none."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, ids: Collection[str]) -> Approvers:
        """Split Slack ids into users and user groups (group ids start with `S`)."""
        clean = [i.strip() for i in ids if i.strip()]
        groups = frozenset(
            i for i in clean if i.startswith("S") and i[1:].isalnum() and i.isupper()
        )
        return cls(users=frozenset(clean) - groups, groups=groups)


def approvers_for(policy: ApprovalPolicy, *, default: Approvers) -> Approvers:
    """Who may approve under `policy`: its own lists, or the default when it names nobody."""
    if policy.users or policy.groups:
        return Approvers(users=frozenset(policy.users), groups=frozenset(policy.groups))
    return default


def current(rollout: Rollout, *, now: datetime) -> Transition:
    """The rollout as of `now`: a pending request past its expiry has expired."""
    request = rollout.request
    if request is None or now < request.expires_at:
        return Transition(rollout)
    decision = Decision(
        request_id=request.id,
        phase=request.phase,
        outcome=Outcome.EXPIRED,
        by="meshgate",
        at=request.expires_at,
        reason=f"nobody decided before {timestamp(request.expires_at)}",
    )
    expired = rollout.model_copy(
        update={"request": None, "last_decision": decision, "state": RolloutState.IN_PROGRESS}
    )
    return Transition(
        expired,
        (Happening(HappeningKind.REQUEST_EXPIRED, request.phase, decision.reason),),
    )


def decide(
    rollout: Rollout | None,
    event: Event,
    *,
    playbook: Playbook,
    now: datetime,
    default_approvers: Approvers = Approvers(),
) -> Transition:
    """Apply `event` to `rollout` at `now`; raise Refused when it may not happen.

    Pure: the caller stores the result (compare-and-set on `version`) and carries out the
    changes named by PHASE_COMPLETED and ROLLED_BACK happenings.
    """
    if isinstance(event, Start):
        return _start(rollout, event, playbook=playbook, now=now)
    if rollout is None:
        raise Refused(RefusalCode.NOT_FOUND, "no rollout for this service: `start` it first")
    expiry = current(rollout, now=now)
    rollout = expiry.rollout
    match event:
        case RequestAdvance():
            result = _advance(rollout, event, playbook=playbook, now=now)
        case Approve():
            result = _approve(rollout, event, playbook, now=now, default=default_approvers)
        case Reject():
            result = _reject(rollout, event, playbook, now=now, default=default_approvers)
        case Attest():
            result = _attest(rollout, event, playbook=playbook, now=now)
        case Rollback():
            result = _rollback(rollout, event, playbook, now=now, default=default_approvers)
        case Abort():
            result = _abort(rollout, event, now=now)
    return Transition(
        result.rollout.model_copy(update={"version": rollout.version + 1, "updated_at": now}),
        expiry.happened + result.happened,
    )


def _start(
    rollout: Rollout | None, event: Start, *, playbook: Playbook, now: datetime
) -> Transition:
    if rollout is not None and rollout.state is not RolloutState.ABORTED:
        raise Refused(
            RefusalCode.CONFLICT,
            f"{rollout.service} is already rolling out (phase {rollout.phase}, "
            f"{rollout.state.value}); use `status` to see where it stands",
        )
    first = playbook.phase(0)
    started = Rollout(
        service=event.service,
        playbook=playbook.name,
        phase_index=0,
        phase=first.id,
        state=RolloutState.IN_PROGRESS,
        started_by=event.actor,
        started_at=now,
        updated_at=now,
        version=(rollout.version + 1) if rollout is not None else 1,
    )
    return Transition(started, (Happening(HappeningKind.STARTED, first.id, f"by {event.actor}"),))


def _refuse_if_finished(rollout: Rollout) -> None:
    if rollout.state is RolloutState.ABORTED:
        raise Refused(RefusalCode.CONFLICT, f"{rollout.service} was aborted; `start` it again")
    if rollout.state is RolloutState.COMPLETED:
        raise Refused(
            RefusalCode.CONFLICT,
            f"{rollout.service} completed every phase; `rollback` to revisit the last one",
        )


def _advance(
    rollout: Rollout, event: RequestAdvance, *, playbook: Playbook, now: datetime
) -> Transition:
    _refuse_if_finished(rollout)
    phase = playbook.phase(rollout.phase_index)
    if rollout.request is not None:
        request = rollout.request
        raise Refused(
            RefusalCode.CONFLICT,
            f"phase {phase.id} already awaits approval (requested by {request.requested_by} at "
            f"{timestamp(request.requested_at)}, {len(request.approvals)}/{request.required} "
            "approvals)",
        )
    blocking = blockers(event.checklist)
    if blocking:
        names = ", ".join(f"{line.id} ({line.status.value})" for line in blocking)
        raise Refused(
            RefusalCode.GATE_FAILED,
            f"phase {phase.id} cannot advance: {names}",
            blockers=blocking,
        )
    if phase.approvals.required == 0:
        return _complete_phase(rollout, phase, playbook=playbook, now=now, by=f"by {event.actor}")
    request = ApprovalRequest(
        id=f"{phase.id}-{rollout.version + 1}",
        phase=phase.id,
        requested_by=event.actor,
        requested_at=now,
        expires_at=now + phase.approvals.expires_after,
        required=phase.approvals.required,
        checklist=event.checklist,
        preview=event.preview,
    )
    waiting = rollout.model_copy(
        update={"request": request, "state": RolloutState.AWAITING_APPROVAL}
    )
    deadline = timestamp(request.expires_at)
    detail = f"by {event.actor}; needs {request.required} approval(s) before {deadline}"
    return Transition(waiting, (Happening(HappeningKind.ADVANCE_REQUESTED, phase.id, detail),))


def _complete_phase(
    rollout: Rollout, phase: Phase, *, playbook: Playbook, now: datetime, by: str
) -> Transition:
    done = CompletedPhase(phase=phase.id, at=now, change=phase.change)
    happened = [Happening(HappeningKind.PHASE_COMPLETED, phase.id, by, phase.change)]
    update: dict[str, object] = {"request": None, "completed": (*rollout.completed, done)}
    next_index = rollout.phase_index + 1
    if next_index >= len(playbook.phases):
        update["state"] = RolloutState.COMPLETED
        happened.append(Happening(HappeningKind.ROLLOUT_COMPLETED, phase.id))
    else:
        update |= {
            "phase_index": next_index,
            "phase": playbook.phase(next_index).id,
            "state": RolloutState.IN_PROGRESS,
        }
    return Transition(rollout.model_copy(update=update), tuple(happened))


def _no_pending_request(rollout: Rollout, request_id: str | None) -> Refused:
    """The refusal for a vote when nothing awaits one: late click, expiry, or nothing asked."""
    last = rollout.last_decision
    if last is not None and request_id in (None, last.request_id):
        if last.outcome is Outcome.EXPIRED:
            return Refused(
                RefusalCode.CONFLICT,
                f"the request to complete phase {last.phase} expired at {timestamp(last.at)}; "
                "run `advance` again",
            )
        return Refused(
            RefusalCode.ALREADY_DECIDED,
            f"the request to complete phase {last.phase} was already {last.outcome.value} by "
            f"{last.by} at {timestamp(last.at)}",
        )
    if request_id is not None:
        return Refused(RefusalCode.ALREADY_DECIDED, "that request was already decided")
    return Refused(
        RefusalCode.CONFLICT,
        f"nothing awaits approval for {rollout.service}; run `advance` first",
    )


def _pending(rollout: Rollout, request_id: str | None) -> ApprovalRequest:
    request = rollout.request
    if request is None:
        if rollout.last_decision is None:
            _refuse_if_finished(rollout)
        # a late click on the request that completed (or aborted) the rollout is told so
        raise _no_pending_request(rollout, request_id)
    if request_id is not None and request_id != request.id:
        raise Refused(
            RefusalCode.ALREADY_DECIDED,
            "that request was already decided; a newer one is pending",
        )
    return request


def _may_approve(actor: str, groups: frozenset[str], approvers: Approvers) -> bool:
    return actor in approvers.users or bool(groups & approvers.groups)


def _approve(
    rollout: Rollout, event: Approve, playbook: Playbook, *, now: datetime, default: Approvers
) -> Transition:
    request = _pending(rollout, event.request_id)
    phase = playbook.phase(rollout.phase_index)
    policy = phase.approvals
    approvers = approvers_for(policy, default=default)
    if event.actor == request.requested_by and not policy.allow_self_approval:
        raise Refused(
            RefusalCode.SELF_APPROVAL,
            f"{event.actor} requested this advance and cannot approve it; another approver must",
        )
    if not _may_approve(event.actor, event.actor_groups, approvers):
        if not approvers.users and not approvers.groups:
            raise Refused(
                RefusalCode.NOT_AUTHORIZED,
                f"nobody may approve phase {phase.id}: the playbook names no approvers and "
                "MESHGATE_APPROVERS is empty",
            )
        raise Refused(
            RefusalCode.NOT_AUTHORIZED,
            f"{event.actor} is not an approver for phase {phase.id}",
        )
    if any(vote.by == event.actor for vote in request.approvals):
        raise Refused(
            RefusalCode.ALREADY_DECIDED,
            f"{event.actor} already approved; {request.required - len(request.approvals)} more "
            "needed",
        )
    votes = (*request.approvals, Approval(by=event.actor, at=now))
    if len(votes) < request.required:
        counted = rollout.model_copy(
            update={"request": request.model_copy(update={"approvals": votes})}
        )
        detail = f"by {event.actor} ({len(votes)}/{request.required})"
        return Transition(counted, (Happening(HappeningKind.APPROVAL_RECORDED, phase.id, detail),))
    decision = Decision(
        request_id=request.id, phase=phase.id, outcome=Outcome.APPROVED, by=event.actor, at=now
    )
    approved = rollout.model_copy(
        update={
            "last_decision": decision,
            "request": request.model_copy(update={"approvals": votes}),
        }
    )
    approvals = f"approved by {', '.join(v.by for v in votes)}"
    return _complete_phase(approved, phase, playbook=playbook, now=now, by=approvals)


def _reject(
    rollout: Rollout, event: Reject, playbook: Playbook, *, now: datetime, default: Approvers
) -> Transition:
    request = _pending(rollout, event.request_id)
    phase = playbook.phase(rollout.phase_index)
    approvers = approvers_for(phase.approvals, default=default)
    withdrawing = event.actor == request.requested_by
    if not withdrawing and not _may_approve(event.actor, event.actor_groups, approvers):
        raise Refused(
            RefusalCode.NOT_AUTHORIZED,
            f"{event.actor} is not an approver for phase {phase.id} and did not request it",
        )
    decision = Decision(
        request_id=request.id,
        phase=phase.id,
        outcome=Outcome.REJECTED,
        by=event.actor,
        at=now,
        reason=event.reason,
    )
    rejected = rollout.model_copy(
        update={"request": None, "last_decision": decision, "state": RolloutState.IN_PROGRESS}
    )
    detail = f"by {event.actor}" + (f": {event.reason}" if event.reason else "")
    return Transition(rejected, (Happening(HappeningKind.REQUEST_REJECTED, phase.id, detail),))


def _attest(rollout: Rollout, event: Attest, *, playbook: Playbook, now: datetime) -> Transition:
    _refuse_if_finished(rollout)
    phase = playbook.phase(rollout.phase_index)
    item = phase.item(event.item)
    attestable = [i.id for i in phase.gate if i.attest]
    if item is None or not item.attest:
        known = ", ".join(attestable) or "none"
        what = "is an automated check" if item is not None else "is not an item of this phase"
        raise Refused(
            RefusalCode.NOT_FOUND if item is None else RefusalCode.CONFLICT,
            f"{event.item} {what}; phase {phase.id} takes attestations for: {known}",
        )
    if rollout.request is not None:
        raise Refused(
            RefusalCode.CONFLICT,
            f"phase {phase.id} awaits approval on its current checklist; reject the request "
            "before changing it",
        )
    note = AttestationNote(phase=phase.id, item=item.id, by=event.actor, at=now, note=event.note)
    kept = tuple(a for a in rollout.attestations if (a.phase, a.item) != (phase.id, item.id))
    attested = rollout.model_copy(update={"attestations": (*kept, note)})
    detail = f"{item.id} by {event.actor}" + (f": {event.note}" if event.note else "")
    return Transition(attested, (Happening(HappeningKind.ATTESTED, phase.id, detail),))


def _withdraw(rollout: Rollout, *, by: str, why: str, now: datetime) -> Transition:
    request = rollout.request
    if request is None:
        return Transition(rollout)
    decision = Decision(
        request_id=request.id,
        phase=request.phase,
        outcome=Outcome.WITHDRAWN,
        by=by,
        at=now,
        reason=why,
    )
    withdrawn = rollout.model_copy(update={"request": None, "last_decision": decision})
    return Transition(withdrawn, (Happening(HappeningKind.REQUEST_WITHDRAWN, request.phase, why),))


def _rollback(
    rollout: Rollout, event: Rollback, playbook: Playbook, *, now: datetime, default: Approvers
) -> Transition:
    if rollout.state is RolloutState.ABORTED:
        raise Refused(RefusalCode.CONFLICT, f"{rollout.service} was aborted; `start` it again")
    if not rollout.completed:
        raise Refused(
            RefusalCode.CONFLICT,
            f"nothing to roll back: {rollout.service} has not completed a phase yet",
        )
    last = rollout.completed[-1]
    index = next(i for i, p in enumerate(playbook.phases) if p.id == last.phase)
    policy = playbook.phase(index).approvals
    approvers = approvers_for(policy, default=default)
    if (
        not event.automatic
        and policy.required > 0
        and not _may_approve(event.actor, event.actor_groups, approvers)
    ):
        raise Refused(
            RefusalCode.NOT_AUTHORIZED,
            f"{event.actor} is not an approver for phase {last.phase}, whose change a rollback "
            "would revert; one of its approvers must roll it back",
        )
    withdrawal = _withdraw(rollout, by=event.actor, why=f"rollback by {event.actor}", now=now)
    back = withdrawal.rollout.model_copy(
        update={
            "phase_index": index,
            "phase": last.phase,
            "state": RolloutState.ROLLED_BACK,
            "completed": rollout.completed[:-1],
        }
    )
    detail = f"by {event.actor}: from {rollout.phase} back to {last.phase}"
    happening = Happening(HappeningKind.ROLLED_BACK, last.phase, detail, last.change)
    return Transition(back, (*withdrawal.happened, happening))


def _abort(rollout: Rollout, event: Abort, *, now: datetime) -> Transition:
    _refuse_if_finished(rollout)
    withdrawal = _withdraw(rollout, by=event.actor, why=f"abort by {event.actor}", now=now)
    aborted = withdrawal.rollout.model_copy(update={"state": RolloutState.ABORTED})
    detail = f"by {event.actor}" + (f": {event.reason}" if event.reason else "")
    return Transition(
        aborted, (*withdrawal.happened, Happening(HappeningKind.ABORTED, rollout.phase, detail))
    )
