"""Domain state to reply views (no text, no Slack): one place that maps fields."""

from __future__ import annotations

from collections.abc import Iterable

from commands.replies import (
    ApprovalView,
    ChangeSummary,
    DecisionView,
    HistoryLine,
    RequestView,
    RolloutSummary,
    RolloutView,
)
from workflows.gates.checklist import ChecklistLine, timestamp
from workflows.playbook import PhaseChange, Playbook
from workflows.rollout.state import Rollout
from workflows.rollout.trail import TrailEntry


def change_summary(rollout: Rollout, playbook: Playbook) -> ChangeSummary | None:
    """What the current phase will change, or None."""
    change = playbook.phase(rollout.phase_index).change
    return None if change is None else change_summary_of(change)


def change_summary_of(change: PhaseChange) -> ChangeSummary:
    """A phase change as reply facts."""
    return ChangeSummary(
        kind=change.kind.value,
        mode=change.mode,
        dry_run=change.dry_run,
        deny_by_default=change.deny_by_default,
    )


def rollout_view(
    rollout: Rollout, *, playbook: Playbook, checklist: Iterable[ChecklistLine]
) -> RolloutView:
    """A rollout with its (freshly evaluated or requested-on) checklist."""
    phase = playbook.phase(rollout.phase_index)
    request = rollout.request
    decision = rollout.last_decision
    return RolloutView(
        service=rollout.service,
        phase=rollout.phase,
        phase_index=rollout.phase_index,
        phase_title=phase.title,
        phases=len(playbook.phases),
        state=rollout.state.value,
        version=rollout.version,
        checklist=list(checklist),
        approvals=[
            ApprovalView(by=vote.by, at=timestamp(vote.at))
            for vote in (request.approvals if request else ())
        ],
        request=None
        if request is None
        else RequestView(
            id=request.id,
            requested_by=request.requested_by,
            requested_at=timestamp(request.requested_at),
            expires_at=timestamp(request.expires_at),
            required=request.required,
            change=change_summary(rollout, playbook),
            diff=request.preview or None,
            metrics=request.metrics,
            manifest=request.manifest or None,
            approvers=list(request.approvers),
        ),
        last_decision=None
        if decision is None
        else DecisionView(
            phase=decision.phase,
            outcome=decision.outcome.value,
            by=decision.by,
            at=timestamp(decision.at),
            reason=decision.reason,
        ),
        started_by=rollout.started_by,
        started_at=timestamp(rollout.started_at),
        updated_at=timestamp(rollout.updated_at),
    )


def summary(rollout: Rollout) -> RolloutSummary:
    """One line of `list`."""
    return RolloutSummary(
        service=rollout.service,
        phase=rollout.phase,
        phase_index=rollout.phase_index,
        state=rollout.state.value,
        pending_approvals=(
            rollout.request.required - len(rollout.request.approvals) if rollout.request else 0
        ),
        updated_at=timestamp(rollout.updated_at),
    )


def history_line(entry: TrailEntry) -> HistoryLine:
    """One trail entry as a history line."""
    return HistoryLine(
        at=timestamp(entry.at),
        actor=entry.actor,
        action=entry.action,
        outcome=entry.outcome,
        phase=entry.phase,
        state=entry.state_after,
        detail=entry.detail,
        happened=list(entry.happened) or None,
    )
