"""One entry point for every front end: text and actor in, a Reply out, never an exception.

Parses, routes to the verb's handler, and turns failures into replies: CommandError verbatim,
store outages as `unavailable`, anything else as `internal` with a correlation id that is also
in the log line carrying the traceback. Every rollout event goes through the one-pass runner
(commands.transitions); queries have a handler each.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from commands import alerts, audit, history, listing, metrics, parsing, plan, status, transitions
from commands import help as help_verb
from commands.context import Context
from commands.errors import CommandError
from commands.replies import ErrorView, Reply
from workflows.errors import ErrorCode
from workflows.ports import StoreConflict, StoreUnavailable
from workflows.rollout.events import (
    Abort,
    Advance,
    ApplyFailed,
    Approve,
    Attest,
    Reject,
    Rollback,
    Start,
    Verify,
)

log = logging.getLogger(__name__)

Handler = Callable[..., Reply]

_QUERIES: dict[type[Any], Handler] = {
    parsing.Help: help_verb.handle,
    parsing.ListRollouts: listing.handle,
    parsing.Status: status.handle,
    parsing.History: history.handle,
    parsing.Metrics: metrics.handle,
    parsing.Audit: audit.handle,
    parsing.Plan: plan.handle,
    parsing.Ack: alerts.handle,
    parsing.Snooze: alerts.handle,
}
_EVENTS = (Start, Advance, Approve, Reject, Attest, Rollback, Abort, ApplyFailed, Verify)


def execute(text: str, *, actor: str, ctx: Context) -> Reply:
    """Parse `text` and run it as `actor`."""
    try:
        command = parsing.parse(text)
    except CommandError as e:
        return error_reply(_first_word(text), e)
    return run(command, actor=actor, ctx=ctx)


def instant(text: str, *, actor: str, ctx: Context) -> Reply | None:
    """The reply to `text` when the text alone decides it (help, a usage error), else None.

    Such a reply reads no state and calls nothing, so a front end may answer it at once.
    """
    try:
        command = parsing.parse(text)
    except CommandError as e:
        return error_reply(_first_word(text), e)
    if isinstance(command, parsing.Help):
        return run(command, actor=actor, ctx=ctx)
    return None


def run(command: parsing.Command, *, actor: str, ctx: Context) -> Reply:
    """Run an already-parsed command (buttons build commands directly)."""
    verb = parsing.verb_of(command)
    try:
        if isinstance(command, _EVENTS):
            return transitions.run(command, actor=actor, ctx=ctx)
        return _QUERIES[type(command)](command, actor=actor, ctx=ctx)
    except CommandError as e:
        return error_reply(verb, e)
    except StoreUnavailable as e:
        return error_reply(
            verb,
            CommandError(
                ErrorCode.UNAVAILABLE, f"state store unavailable, nothing was changed: {e}"
            ),
        )
    except StoreConflict as e:
        return error_reply(verb, CommandError(ErrorCode.CONFLICT, str(e)))
    except Exception:
        correlation = uuid.uuid4().hex[:12]
        log.exception("command %s by %s failed [%s]", verb, actor, correlation)
        return error_reply(
            verb,
            CommandError(
                ErrorCode.INTERNAL,
                f"sorry, meshgate failed on this command; give the operators id {correlation}",
            ),
        )


def error_reply(verb: str, error: CommandError) -> Reply:
    """A failed reply carrying the error's code, message, usage and blockers."""
    blockers = list(error.blockers) if error.blockers else None
    return Reply(
        command=verb,
        ok=False,
        error=ErrorView(
            code=error.code,
            message=error.message,
            usage=error.usage or None,
            blockers=blockers,
        ),
    )


def _first_word(text: str) -> str:
    words = [w for w in text.split() if not w.startswith("/")]
    verb = words[0].lower() if words else "help"
    return verb if verb in parsing.USAGE else "unknown"
