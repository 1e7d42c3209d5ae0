"""Posting a rollout's message once, whatever Slack does meanwhile.

chat.postMessage has no idempotency key, and a call that timed out may have landed. So the
intent is recorded in Redis before the post (bot.slack.state `Posting`, with a random mark the
message carries in its metadata); a later attempt (the next command, or reconciliation) first
looks for the mark in the channel's latest messages and adopts the message it finds, so a
post that landed unseen is never posted twice. One replica posts at a time (a short claim).

How a Slack call can fail, as the Publisher and the reconciler see it:

    Failure(said, unavailable=True)    Slack did not answer, or answered 5xx or 429: try
                                       again on the next tick (the reconciler stops there)
    Failure(said, unavailable=False)   Slack refused this message (not_in_channel, ...), or
                                       another replica is posting it: `said` tells why

Each failed call is counted once, by the client (bot.slack.counted_client).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.counted_client import SLACK_ERRORS
from bot.slack.state import Posting, SlackState

log = logging.getLogger(__name__)

# What a Web API call raises: Slack's answer, slack_sdk's own errors, and the socket's
# (TimeoutError, URLError and ConnectionResetError are OSErrors).
# The metadata event type of a rollout's message (Slack's message metadata).
METADATA_TYPE = "meshgate_rollout"
# How far back a post that may have landed is looked for: the channel's latest messages
# (conversations.history's page size; reconciliation runs within minutes of the post).
LOOKBACK = 100
# Public and private channels (C..., and G... for older private ones): the app may read their
# history; a DM (D...) it may not.
_CHANNEL_PREFIXES = ("C", "G")
# Slack errors that say "not now" rather than "not this message" (docs.slack.dev, chat.*).
_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "ratelimited"})


class Outcome(StrEnum):
    """What bringing a rollout's message in line with its state did."""

    IN_LINE = "in_line"  # the message already showed the rollout's version: no Slack call
    BROUGHT = "brought"  # posted, found, or updated to the rollout's version
    NO_MESSAGE = "no_message"  # never meant to be posted (no channel known): nothing to do
    REFUSED = "refused"  # Slack refused this message (not in the channel, ...): next tick
    UNAVAILABLE = "unavailable"  # Slack did not answer, or failed: next tick


@dataclass(frozen=True)
class Failure:
    """A Slack call that did not do what was asked: what Slack said, and whether to retry."""

    said: str
    unavailable: bool


@dataclass(frozen=True)
class Landed:
    """A rollout message in Slack: where, and whether it was found rather than posted now."""

    channel: str
    ts: str
    team: str
    adopted: bool = False  # found by its mark: it shows an older view, so update it


def failure_of(e: BaseException) -> Failure:
    """What a failed call means for the caller (the client has counted it: CountedWebClient)."""
    if isinstance(e, SlackApiError):
        error = str(e.response.get("error", "error"))
        status = int(e.response.status_code or 0)
        return Failure(error, unavailable=status >= 500 or status == 429 or error in _TRANSIENT)
    return Failure(type(e).__name__, unavailable=True)


def post_once(
    client: WebClient,
    state: SlackState,
    *,
    service: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]],
) -> Landed | Failure:
    """Post the rollout's message in `channel` (or where it was first meant to go), once.

    The intent is recorded before the post; an earlier intent's message is looked for first.
    The caller records the message's ref and then calls `state.forget_posting`.
    """
    posting = state.posting_of(service)
    if posting is None:
        posting = Posting(channel=channel, mark=secrets.token_hex(8))
        state.remember_posting(service, posting)
        earlier = False
    else:
        earlier = True
    if not state.claim_posting(service):
        return Failure("another replica is posting it", unavailable=False)  # it will land
    try:
        if earlier:
            found = _look_up(client, posting)
            if isinstance(found, Landed) or (found is not None and found.unavailable):
                return found
        response = client.chat_postMessage(
            channel=posting.channel,
            text=text,
            blocks=blocks,
            metadata={
                "event_type": METADATA_TYPE,
                "event_payload": {"service": service, "mark": posting.mark},
            },
        )
    except SLACK_ERRORS as e:
        return failure_of(e)
    finally:
        state.release_posting(service)
    message = response.get("message") or {}
    return Landed(str(response["channel"]), str(response["ts"]), str(message.get("team", "")))


def _look_up(client: WebClient, posting: Posting) -> Landed | Failure | None:
    """The message an earlier attempt posted, if it landed; a Failure if Slack cannot say.

    A refusal (no history scope, not in the channel) is a Failure that is not `unavailable`:
    the caller posts then, since a message shown twice is better than none. Direct messages
    are not looked in (the app reads channels' history only: channels:history, groups:history).
    """
    if not posting.channel.startswith(_CHANNEL_PREFIXES):
        return None
    try:
        response = client.conversations_history(
            channel=posting.channel, limit=LOOKBACK, include_all_metadata=True
        )
    except SLACK_ERRORS as e:
        failure = failure_of(e)
        log.warning("looking for a message that may have landed failed: %s", failure.said)
        return failure
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == METADATA_TYPE and payload.get("mark") == posting.mark:
            team = str(message.get("team", ""))
            return Landed(posting.channel, str(message["ts"]), team, adopted=True)
    return None


# What Slack says when the bot is not where it was asked to post: only then is inviting it the fix.
_NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def unposted_hint(failure: Failure | None) -> str:
    """Why the rollout's message is not in the channel, and what to do, from Slack's answer."""
    said = failure.said if failure is not None else ""
    if said in _NOT_A_MEMBER:
        return "invite the bot to this channel to get the rollout's message here"
    return (
        f"Slack did not take the rollout's message: {said or 'no answer'}; the rollout is "
        "saved: `status` shows it, and meshgate posts the message once Slack takes it"
    )
