"""The playbook's access rules for `abort` and for attestations (workflows.playbook.Access).

Pure helpers of workflows.rollout.machine: each raises Refused (`not_authorized`) with what
the person can do instead. Approve, reject and rollback keep their rules in approvals.py and
reversal.py (the phase's approval policy).
"""

from __future__ import annotations

from workflows.errors import ErrorCode
from workflows.playbook import AbortRule, AttestRule, Phase, Playbook
from workflows.rollout.events import Actor, Refused
from workflows.rollout.state import Approvers, Rollout, approvers_for


def check_abort(rollout: Rollout, *, actor: Actor, playbook: Playbook, default: Approvers) -> None:
    """Refuse an `abort` by someone the playbook's `access.abort` does not name.

    The current phase's approvers may always abort; the one who started the rollout and the
    one whose request is pending too under `approvers-or-starter` (the default).
    """
    rule = playbook.access.abort
    if rule is AbortRule.ANYONE:
        return
    phase = playbook.phase(rollout.phase_index)
    if approvers_for(phase.approvals, default=default).admit(actor.id, actor.groups):
        return
    owners = {rollout.started_by}
    if rollout.request is not None:
        owners.add(rollout.request.requested_by)
    if rule is AbortRule.APPROVERS_OR_STARTER and actor.id in owners:
        return
    who = "an approver of phase " + phase.id
    if rule is AbortRule.APPROVERS_OR_STARTER:
        who += f" or {rollout.started_by}, who started it"
    raise Refused(
        ErrorCode.NOT_AUTHORIZED,
        f"{actor.id} may not abort {rollout.service}: only {who} may (playbook access.abort: "
        f"{rule.value})",
    )


def check_own_attestations(
    rollout: Rollout, *, actor: Actor, phase: Phase, playbook: Playbook
) -> None:
    """Refuse an advance whose requester attested an item of a gate that needs approval.

    Under `access.attest: not-requester` (the default) the person asking for approval cannot
    also be the only one who vouched for the human items: someone else attests them, or someone
    else asks.
    """
    if playbook.access.attest is AttestRule.ANYONE or phase.approvals.required == 0:
        return
    own = sorted(a.item for a in rollout.attestations if a.phase == phase.id and a.by == actor.id)
    if own:
        raise Refused(
            ErrorCode.NOT_AUTHORIZED,
            f"{actor.id} attested {', '.join(own)} of phase {phase.id}, which needs approval: "
            "someone other than the requester must attest it (`attest` again), or someone "
            "else must advance (playbook access.attest: not-requester)",
        )
