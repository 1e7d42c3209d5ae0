"""What can happen to a rollout: the events commands produce, who asks, and what was read.

An event is what a person asked for (a chat verb, a button), with the service it is about;
`Actor` is who asked and which approver groups they belong to; `Facts` is what the command
read before deciding (the gate's or verify checklist, the dry run's diff). `ApplyFailed` and
`Verify` are meshgate's own events: the cluster refused a change the state machine had ordered;
a verifying phase is checked again. The parser never builds them.
`Refused` is how the machine says no, with the code the person sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from workflows.errors import ErrorCode, WorkflowError
from workflows.gates.checklist import ChecklistLine
from workflows.gates.metrics_snapshot import MetricsSnapshot
from workflows.naming import ServiceRef


@dataclass(frozen=True)
class Actor:
    """Who asked: a Slack user id (or console name) and the approver groups they are in."""

    id: str
    groups: frozenset[str] = frozenset()


MESHGATE = Actor("meshgate")
"""meshgate itself, for events no person asked for (a change that failed to apply)."""


@dataclass(frozen=True)
class Facts:
    """What the command read: the lines `machine.items_to_check` named, the dry-run diff."""

    checklist: tuple[ChecklistLine, ...] = ()
    preview: str | None = None  # None: not asked yet (see the DryRun intent)
    metrics: MetricsSnapshot | None = None  # the service's numbers, shown to approvers
    manifest: str = ""  # where meshgate does not write: the change as YAML to commit


@dataclass(frozen=True)
class Start:
    """`start NS/NAME`: begin the rollout at the playbook's first phase."""

    verb: ClassVar[str] = "start"
    service: ServiceRef


@dataclass(frozen=True)
class Advance:
    """`advance NS/NAME`: complete the current phase (its gate is in Facts)."""

    verb: ClassVar[str] = "advance"
    service: ServiceRef


@dataclass(frozen=True)
class Approve:
    """`approve NS/NAME`; a button also carries the request id, so a late click is told."""

    verb: ClassVar[str] = "approve"
    service: ServiceRef
    request_id: str | None = None


@dataclass(frozen=True)
class Reject:
    """`reject NS/NAME [reason]`: an approver rejects, or the requester withdraws."""

    verb: ClassVar[str] = "reject"
    service: ServiceRef
    reason: str = ""
    request_id: str | None = None


@dataclass(frozen=True)
class Attest:
    """`attest NS/NAME ITEM [note]`: vouch for a human checklist item of the current phase."""

    verb: ClassVar[str] = "attest"
    service: ServiceRef
    item: str = ""
    note: str = ""


@dataclass(frozen=True)
class Rollback:
    """`rollback NS/NAME`: back to the last completed phase, reverting its change.

    Reverting a change that needed approval takes one of that phase's approvers (no second
    person: a rollback is often urgent).
    """

    verb: ClassVar[str] = "rollback"
    service: ServiceRef


@dataclass(frozen=True)
class Abort:
    """`abort NS/NAME [reason]`: stop where it stands (changes already applied stay)."""

    verb: ClassVar[str] = "abort"
    service: ServiceRef
    reason: str = ""


@dataclass(frozen=True)
class ApplyFailed:
    """meshgate could not apply the change of `phase`: back to that phase, nothing applied."""

    verb: ClassVar[str] = "change"
    service: ServiceRef
    phase: str
    reason: str


@dataclass(frozen=True)
class Verify:
    """meshgate checks a verifying phase (after its apply; on the sweep): verify lines in Facts."""

    verb: ClassVar[str] = "verify"
    service: ServiceRef


Event = Start | Advance | Approve | Reject | Attest | Rollback | Abort | ApplyFailed | Verify


class Refused(WorkflowError):
    """An event the state machine refuses; `message` is written for the person who asked."""

    def __init__(
        self, code: ErrorCode, message: str, *, blockers: Sequence[ChecklistLine] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.blockers = tuple(blockers)
