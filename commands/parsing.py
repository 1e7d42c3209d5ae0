"""Chat text to typed commands.

`parse("advance shop/checkout")` returns the domain's event `Advance(ServiceRef("shop",
"checkout"))`: rollout verbs parse straight into workflows.rollout.events, so there is one
vocabulary; read-only verbs parse into the queries defined here.
A leading slash command (`/rollout advance ...`) is accepted and ignored. Any text gives a
command or a UsageError that shows the right form; nothing else escapes (fuzzed in tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from commands.errors import UsageError
from workflows.naming import InvalidServiceRef, ServiceRef
from workflows.playbook import DurationOutOfRange, parse_duration
from workflows.rollout.events import (
    Abort,
    Advance,
    Approve,
    Attest,
    Event,
    Reject,
    Rollback,
    Start,
)

MAX_REASON = 500
_ITEM = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ALERT = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.:]{0,99}$")

USAGE: dict[str, str] = {
    "help": "help",
    "list": "list",
    "start": "start NS/NAME",
    "status": "status NS/NAME",
    "advance": "advance NS/NAME",
    "approve": "approve NS/NAME",
    "reject": "reject NS/NAME [reason]",
    "attest": "attest NS/NAME ITEM [note]",
    "rollback": "rollback NS/NAME",
    "abort": "abort NS/NAME [reason]",
    "history": "history NS/NAME",
    "metrics": "metrics NS/NAME",
    "audit": "audit [NS/NAME]",
    "plan": "plan NS/NAME",
    "ack": "ack ALERT",
    "snooze": "snooze ALERT DURATION",
}

SUMMARY: dict[str, str] = {
    "help": "this list",
    "list": "every rollout with its phase and state",
    "start": "begin a service's rollout at the first phase",
    "status": "where a rollout stands, with its checklist",
    "advance": "complete the current phase: check the gate, then ask for approval",
    "approve": "approve the pending request",
    "reject": "reject the pending request (or withdraw your own)",
    "attest": "vouch for a human checklist item",
    "rollback": "return to the previous phase, reverting its change",
    "abort": "stop the rollout where it stands",
    "history": "who did what, when",
    "metrics": "the service's request metrics",
    "audit": "mesh posture of one service or all",
    "plan": "the current phase's change as YAML to commit (GitOps)",
    "ack": "acknowledge an alert",
    "snooze": "silence an alert for a while (e.g. 2h)",
}


@dataclass(frozen=True)
class Help:
    """`help`"""

    verb: ClassVar[str] = "help"


@dataclass(frozen=True)
class ListRollouts:
    """`list`"""

    verb: ClassVar[str] = "list"


@dataclass(frozen=True)
class Status:
    """`status NS/NAME`"""

    verb: ClassVar[str] = "status"
    service: ServiceRef


@dataclass(frozen=True)
class History:
    """`history NS/NAME`"""

    verb: ClassVar[str] = "history"
    service: ServiceRef


@dataclass(frozen=True)
class Metrics:
    """`metrics NS/NAME`"""

    verb: ClassVar[str] = "metrics"
    service: ServiceRef


@dataclass(frozen=True)
class Audit:
    """`audit [NS/NAME]`"""

    verb: ClassVar[str] = "audit"
    service: ServiceRef | None = None


@dataclass(frozen=True)
class Plan:
    """`plan NS/NAME`"""

    verb: ClassVar[str] = "plan"
    service: ServiceRef


@dataclass(frozen=True)
class Ack:
    """`ack ALERT`"""

    verb: ClassVar[str] = "ack"
    alert: str


@dataclass(frozen=True)
class Snooze:
    """`snooze ALERT DURATION`"""

    verb: ClassVar[str] = "snooze"
    alert: str
    duration: timedelta


Query = Help | ListRollouts | Status | History | Metrics | Audit | Plan | Ack | Snooze
"""Commands that read (or act on alerts); they change no rollout."""

Command = Query | Event
"""What a line of chat text means: a query, or one of the domain's rollout events."""

_ServiceOnly = Start | Status | Advance | Approve | Rollback | History | Metrics | Plan

_SERVICE_ONLY: dict[str, type[_ServiceOnly]] = {
    "start": Start,
    "status": Status,
    "advance": Advance,
    "approve": Approve,
    "rollback": Rollback,
    "history": History,
    "metrics": Metrics,
    "plan": Plan,
}


def verb_of(command: Command) -> str:
    """The chat verb that produces `command`."""
    return command.verb


def parse(text: str) -> Command:
    """Parse one line of chat text; raise UsageError with the right form when it is wrong."""
    words = text.strip().split()
    if words and words[0].startswith("/"):
        words = words[1:]
    if not words:
        return Help()
    verb = words[0].lower()
    args = words[1:]
    if verb not in USAGE:
        raise UsageError(
            f"unknown command {_shown(words[0])}; try `help`",
            usage=", ".join(USAGE),
        )
    usage = USAGE[verb]
    if verb in ("help", "list"):
        if args:
            raise UsageError(f"`{verb}` takes no arguments", usage=usage)
        return Help() if verb == "help" else ListRollouts()
    if verb == "audit":
        if len(args) > 1:
            raise UsageError("`audit` takes at most one service", usage=usage)
        return Audit(service=_service(args[0], usage) if args else None)
    if verb in ("ack", "snooze"):
        return _alert_command(verb, args, usage)
    if not args:
        raise UsageError(f"`{verb}` needs a service", usage=usage)
    service = _service(args[0], usage)
    rest = args[1:]
    if verb in _SERVICE_ONLY:
        if rest:
            raise UsageError(f"`{verb}` takes only a service", usage=usage)
        return _SERVICE_ONLY[verb](service=service)
    if verb == "attest":
        if not rest:
            raise UsageError("`attest` needs the checklist item to vouch for", usage=usage)
        if not _ITEM.match(rest[0]):
            raise UsageError(f"{_shown(rest[0])} is not a checklist item id", usage=usage)
        return Attest(service=service, item=rest[0], note=_free_text(rest[1:], usage))
    reason = _free_text(rest, usage)
    return Reject(service=service, reason=reason) if verb == "reject" else Abort(service, reason)


def _service(word: str, usage: str) -> ServiceRef:
    try:
        return ServiceRef.parse(word)
    except InvalidServiceRef as e:
        raise UsageError(str(e), usage=usage) from e


def _free_text(words: list[str], usage: str) -> str:
    text = " ".join(words)
    if len(text) > MAX_REASON:
        raise UsageError(
            f"the text is {len(text)} characters; keep it under {MAX_REASON}", usage=usage
        )
    return text


def _alert_command(verb: str, args: list[str], usage: str) -> Ack | Snooze:
    expected = 1 if verb == "ack" else 2
    if len(args) != expected:
        raise UsageError(f"`{verb}` takes {expected} argument(s)", usage=usage)
    if not _ALERT.match(args[0]):
        raise UsageError(f"{_shown(args[0])} is not an alert id", usage=usage)
    if verb == "ack":
        return Ack(alert=args[0])
    too_long = UsageError(f"snooze for between 1m and 30d, not {_shown(args[1])}", usage=usage)
    try:
        duration = parse_duration(args[1])
    except DurationOutOfRange as e:
        raise too_long from e
    except ValueError as e:
        raise UsageError(str(e), usage=usage) from e
    assert isinstance(duration, timedelta)  # noqa: S101 - parse_duration returns one for str
    if not timedelta(minutes=1) <= duration <= timedelta(days=30):
        raise too_long
    return Snooze(alert=args[0], duration=duration)


def _shown(word: str) -> str:
    """A user's word quoted for an error, cut short."""
    return repr(word if len(word) <= 40 else word[:40] + "...")
