"""The domain's error codes and its one exception root.

    WorkflowError
    ├── Refused             the state machine refuses an event; carries an ErrorCode
    ├── InvalidServiceRef   text that is not NS/NAME
    ├── PlaybookInvalid     a playbook that does not validate (line-numbered problems)
    ├── ActionError         a phase's change cannot be built from the snapshot
    ├── BaselineInvalid     an audit baseline file that is not Audit JSON
    └── PortError           raised by adapters behind the ports (workflows.ports)
        ├── StoreUnavailable    the state store cannot be reached; nothing was written
        ├── StoreConflict       a compare-and-set kept losing; nothing was written
        └── ChangeFailed        the cluster refused or did not confirm a change

`ErrorCode` is the one set of codes a reply carries (DESIGN.md, reply JSON `error.code`): the
state machine refuses with them, and the command layer answers with them.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a command did not do what was asked (DESIGN.md, reply JSON)."""

    USAGE = "usage"  # malformed command; the message shows the right form
    NOT_FOUND = "not_found"  # no such rollout, service, item or alert
    NOT_AUTHORIZED = "not_authorized"  # the actor may not do this
    SELF_APPROVAL = "self_approval"  # approving one's own request
    ALREADY_DECIDED = "already_decided"  # the request was decided, or this vote was cast
    GATE_FAILED = "gate_failed"  # required checklist items do not pass
    CONFLICT = "conflict"  # not possible in the rollout's current state
    UNAVAILABLE = "unavailable"  # a backing service (Redis, cluster, Prometheus) is down
    INTERNAL = "internal"  # a bug; the message carries a correlation id for the logs


class WorkflowError(Exception):
    """The root of every error the domain (and its ports) define."""


class PortError(WorkflowError):
    """An adapter behind a port failed; the message says what, without secrets."""
