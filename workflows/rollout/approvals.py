"""Votes on a pending approval request: approve, reject, and the refusals for late clicks.

Pure helpers of workflows.rollout.machine; the approval policy of the phase decides who may.
"""

from __future__ import annotations

from datetime import datetime

from workflows.errors import ErrorCode
from workflows.gates.checklist import timestamp
from workflows.playbook import Playbook
from workflows.rollout import guards
from workflows.rollout.events import Actor, Approve, Refused, Reject
from workflows.rollout.happenings import Happening, HappeningKind, Transition
from workflows.rollout.state import (
    Approval,
    ApprovalRequest,
    Approvers,
    Decision,
    RequestOutcome,
    Rollout,
    RolloutState,
    approvers_for,
)


def approve(
    rollout: Rollout,
    event: Approve,
    *,
    actor: Actor,
    playbook: Playbook,
    now: datetime,
    default: Approvers,
) -> tuple[Transition, bool]:
    """Count `actor`'s vote; True when it was the last one needed (the phase completes)."""
    request = _pending(rollout, event.request_id)
    phase = playbook.phase(rollout.phase_index)
    policy = phase.approvals
    approvers = approvers_for(policy, default=default)
    if actor.id == request.requested_by and not policy.allow_self_approval:
        raise Refused(
            ErrorCode.SELF_APPROVAL,
            f"{actor.id} requested this advance and cannot approve it; another approver must",
        )
    if not approvers.admit(actor.id, actor.groups):
        if approvers.nobody:
            raise Refused(
                ErrorCode.NOT_AUTHORIZED,
                f"nobody may approve phase {phase.id}: the playbook names no approvers and "
                "MESHGATE_APPROVERS is empty",
            )
        raise Refused(
            ErrorCode.NOT_AUTHORIZED, f"{actor.id} is not an approver for phase {phase.id}"
        )
    if any(vote.by == actor.id for vote in request.approvals):
        raise Refused(
            ErrorCode.ALREADY_DECIDED,
            f"{actor.id} already approved; {request.required - len(request.approvals)} more needed",
        )
    votes = (*request.approvals, Approval(by=actor.id, at=now))
    counted = request.model_copy(update={"approvals": votes})
    if len(votes) < request.required:
        happening = Happening(
            kind=HappeningKind.APPROVAL_RECORDED,
            phase=phase.id,
            by=actor.id,
            count=len(votes),
            required=request.required,
        )
        return Transition(rollout.model_copy(update={"request": counted}), (happening,)), False
    decision = Decision(
        request_id=request.id,
        phase=phase.id,
        outcome=RequestOutcome.APPROVED,
        by=actor.id,
        at=now,
        version=rollout.version + 1,
    )
    approved = rollout.model_copy(update={"last_decision": decision, "request": counted})
    return Transition(approved), True


def reject(
    rollout: Rollout,
    event: Reject,
    *,
    actor: Actor,
    playbook: Playbook,
    now: datetime,
    default: Approvers,
) -> Transition:
    """An approver rejects the pending request, or its requester withdraws it."""
    request = _pending(rollout, event.request_id)
    phase = playbook.phase(rollout.phase_index)
    approvers = approvers_for(phase.approvals, default=default)
    withdrawing = actor.id == request.requested_by
    if not withdrawing and not approvers.admit(actor.id, actor.groups):
        raise Refused(
            ErrorCode.NOT_AUTHORIZED,
            f"{actor.id} is not an approver for phase {phase.id} and did not request it",
        )
    decision = Decision(
        request_id=request.id,
        phase=phase.id,
        outcome=RequestOutcome.REJECTED,
        by=actor.id,
        at=now,
        reason=event.reason,
        version=rollout.version + 1,
    )
    rejected = rollout.model_copy(
        update={"request": None, "last_decision": decision, "state": RolloutState.IN_PROGRESS}
    )
    happening = Happening(
        kind=HappeningKind.REQUEST_REJECTED, phase=phase.id, by=actor.id, reason=event.reason
    )
    return Transition(rejected, (happening,))


def _pending(rollout: Rollout, request_id: str | None) -> ApprovalRequest:
    request = rollout.request
    if request is None:
        if rollout.last_decision is None:
            guards.refuse_if_finished(rollout)
        # a late click on the request that completed (or aborted) the rollout is told so
        raise _no_pending_request(rollout, request_id)
    if request_id is not None and request_id != request.id:
        raise Refused(
            ErrorCode.ALREADY_DECIDED,
            "that request was already decided; a newer one is pending",
        )
    return request


def _no_pending_request(rollout: Rollout, request_id: str | None) -> Refused:
    """The refusal for a vote when nothing awaits one: late click, expiry, or nothing asked.

    A vote without a request id is about the last decision only while that decision is the
    rollout's latest transition (meshgate's own follow-ups, verifying its change, carry it);
    after that, the person is told nothing awaits approval rather than about an old request.
    """
    last = rollout.last_decision
    if last is not None and request_id is None and last.version != rollout.version:
        last = None
    if last is not None and request_id in (None, last.request_id):
        if last.outcome is RequestOutcome.EXPIRED:
            return Refused(
                ErrorCode.CONFLICT,
                f"the request to complete phase {last.phase} expired at {timestamp(last.at)}; "
                "run `advance` again",
            )
        return Refused(
            ErrorCode.ALREADY_DECIDED,
            f"the request to complete phase {last.phase} was already {last.outcome.value} by "
            f"{last.by} at {timestamp(last.at)}",
        )
    if request_id is not None:
        return Refused(ErrorCode.ALREADY_DECIDED, "that request was already decided")
    return Refused(
        ErrorCode.CONFLICT,
        f"nothing awaits approval for {rollout.service}; run `advance` first",
    )
