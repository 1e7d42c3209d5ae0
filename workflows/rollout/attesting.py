"""Attestations: a person vouches for a human item of the current phase's gate.

Pure helper of workflows.rollout.machine. Refused for an item that is not a human item of the
phase, while a request is pending on the checklist as it was, and while the phase verifies.
"""

from __future__ import annotations

from datetime import datetime

from workflows.errors import ErrorCode
from workflows.gates.checklist import AttestationNote
from workflows.playbook import Playbook
from workflows.rollout import guards
from workflows.rollout.events import Actor, Attest, Refused
from workflows.rollout.happenings import Happening, HappeningKind, Transition
from workflows.rollout.state import Rollout, RolloutState


def attest(
    rollout: Rollout, event: Attest, *, actor: Actor, playbook: Playbook, now: datetime
) -> Transition:
    """Vouch for a human item of the current phase's gate (refused once it was decided)."""
    guards.refuse_if_finished(rollout)
    phase = playbook.phase(rollout.phase_index)
    item = phase.item(event.item)
    attestable = [i.id for i in phase.gate if i.attest]
    if item is None or not item.attest:
        known = ", ".join(attestable) or "none"
        what = "is an automated check" if item is not None else "is not an item of this phase"
        raise Refused(
            ErrorCode.NOT_FOUND if item is None else ErrorCode.CONFLICT,
            f"{event.item} {what}; phase {phase.id} takes attestations for: {known}",
        )
    if rollout.request is not None:
        raise Refused(
            ErrorCode.CONFLICT,
            f"phase {phase.id} awaits approval on its current checklist; reject the request "
            "before changing it",
        )
    if rollout.state is RolloutState.VERIFYING:
        raise Refused(
            ErrorCode.CONFLICT,
            f"phase {phase.id} is verifying its change; its gate was decided on the checklist "
            "as attested; `rollback` to attest again",
        )
    note = AttestationNote(phase=phase.id, item=item.id, by=actor.id, at=now, note=event.note)
    kept = tuple(a for a in rollout.attestations if (a.phase, a.item) != (phase.id, item.id))
    attested = rollout.model_copy(update={"attestations": (*kept, note)})
    happening = Happening(
        kind=HappeningKind.ATTESTED, phase=phase.id, by=actor.id, item=item.id, reason=event.note
    )
    return Transition(attested, (happening,))
