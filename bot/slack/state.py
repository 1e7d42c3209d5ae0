"""Slack-side state in Redis: where each rollout's message lives, retry claims, App Home hashes.

Keys (DESIGN.md, "State in Redis"):

    meshgate:{shop/checkout}:message   {"channel", "ts", "team", ...} of the rollout's message
    meshgate:{shop/checkout}:posting   a message meshgate set out to post and has not seen land
    meshgate:{shop/checkout}:posting:claim   the replica posting it now, for a short while
    meshgate:delivery:<id>             a claimed Slack delivery (event_id / trigger_id), with TTL
    meshgate:home:<user>               the hash of the App Home view last published to a user
    meshgate:tick:<job>:<n>            the replica that runs a scheduled job's n-th tick
    meshgate:{alert:ID}:message        an alert's message, its escalation, the threads noted
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from bot.state.store import translated
from workflows.ports import StoreUnavailable

_PREFIX = "meshgate"
# Slack retries a delivery for up to about an hour (three retries, backing off); keep claims 2 h.
_CLAIM_TTL_S = 2 * 3600
# An alert's message is remembered for two weeks: longer than a resolved alert is kept.
_ALERT_TTL_S = 14 * 24 * 3600
# A message that never landed is retried by reconciliation for a week, then forgotten (a
# channel the bot was never invited to does not cost a failing call a minute for ever).
_POSTING_TTL_S = 7 * 24 * 3600
# One replica posts a rollout's message at a time: longer than a Web API call with its
# retries takes (30 s timeout, three 429 retries), short enough for a crashed replica's claim.
_POSTING_CLAIM_TTL_S = 120
# Thread notes kept waiting for a message that has not landed: the latest ones.
MAX_WAITING_NOTES = 20


@dataclass(frozen=True)
class MessageRef:
    """A posted message: its channel and timestamp (its id in Slack)."""

    channel: str
    ts: str
    rendered: str = ""  # what state it shows (see Publisher): skip updates that change nothing
    digest: str = ""  # a hash of its blocks: a refreshed checklist that changed nothing is skipped
    version: int = 0  # the rollout version it shows: an older view never replaces a newer one
    team: str = ""  # the workspace it is in: clicks from another one are refused ("": unknown)


@dataclass(frozen=True)
class Posting:
    """A rollout message meshgate set out to post and has not seen land (bot.slack.reconcile).

    Recorded before chat.postMessage: a post that failed is retried, and one that timed out
    (it may have landed) is looked up by `mark`, which the message carries in its metadata,
    before anything is posted again. Thread notes wait here for the message.
    """

    channel: str
    mark: str
    notes: tuple[str, ...] = field(default=())


class SlackState:
    """Slack bookkeeping on the same Redis as the rollouts."""

    def __init__(self, client: redis.Redis, *, claims: redis.Redis | None = None) -> None:
        self._redis = client
        # delivery claims on a client with a short timeout (RedisStore.quick_client): a hung
        # Redis must not hold up the work behind the claim, `help` included
        self._claims = claims or client

    def message_of(self, service: str) -> MessageRef | None:
        """The rollout's message, if one was posted."""
        with translated(f"reading the message of {service}"):
            raw = self._redis.get(f"{_PREFIX}:{{{service}}}:message")
        return _message_ref(raw)

    def messages_of(
        self, services: Sequence[str]
    ) -> dict[str, tuple[MessageRef | None, Posting | None]]:
        """Each rollout's message and waiting post, in one round trip (reconciliation)."""
        if not services:
            return {}
        with translated("reading the rollouts' messages"):
            pipe = self._redis.pipeline(transaction=False)
            for service in services:
                pipe.get(f"{_PREFIX}:{{{service}}}:message")
                pipe.get(f"{_PREFIX}:{{{service}}}:posting")
            raws = pipe.execute()
        return {
            service: (_message_ref(raws[2 * i]), _posting(raws[2 * i + 1]))
            for i, service in enumerate(services)
        }

    def remember_message(self, service: str, ref: MessageRef) -> None:
        """Record where the rollout's message lives."""
        with translated(f"recording the message of {service}"):
            self._redis.set(
                f"{_PREFIX}:{{{service}}}:message",
                json.dumps(
                    {
                        "channel": ref.channel,
                        "ts": ref.ts,
                        "rendered": ref.rendered,
                        "digest": ref.digest,
                        "version": ref.version,
                        "team": ref.team,
                    }
                ),
            )

    def posting_of(self, service: str) -> Posting | None:
        """The rollout's message meshgate is posting, if it has not seen it land."""
        with translated(f"reading the posting of {service}"):
            raw = self._redis.get(f"{_PREFIX}:{{{service}}}:posting")
        return _posting(raw)

    def remember_posting(self, service: str, posting: Posting) -> None:
        """Record the intent to post the rollout's message (before posting it)."""
        notes = list(posting.notes[-MAX_WAITING_NOTES:])
        with translated(f"recording the posting of {service}"):
            self._redis.set(
                f"{_PREFIX}:{{{service}}}:posting",
                json.dumps({"channel": posting.channel, "mark": posting.mark, "notes": notes}),
                ex=_POSTING_TTL_S,
            )

    def forget_posting(self, service: str) -> None:
        """The message landed (its ref is recorded): nothing is waiting any more."""
        with translated(f"clearing the posting of {service}"):
            self._redis.delete(f"{_PREFIX}:{{{service}}}:posting")

    def claim_posting(self, service: str) -> bool:
        """True for the one replica that may post the rollout's message now."""
        with translated(f"claiming the posting of {service}"):
            return bool(
                self._redis.set(
                    f"{_PREFIX}:{{{service}}}:posting:claim", "1", nx=True, ex=_POSTING_CLAIM_TTL_S
                )
            )

    def release_posting(self, service: str) -> None:
        """Let another replica (or a later tick) post the rollout's message."""
        with translated(f"releasing the posting of {service}"):
            self._redis.delete(f"{_PREFIX}:{{{service}}}:posting:claim")

    def claim_delivery_or_unknown(self, delivery_id: str) -> bool:
        """Like `claim_delivery`, but True when Redis cannot say (the work then reports it)."""
        try:
            return self.claim_delivery(delivery_id)
        except StoreUnavailable:
            return True

    def claim_delivery(self, delivery_id: str) -> bool:
        """True the first time a delivery id is seen; False for Slack's retries of it."""
        with translated("claiming a Slack delivery"):
            return bool(
                self._claims.set(f"{_PREFIX}:delivery:{delivery_id}", "1", nx=True, ex=_CLAIM_TTL_S)
            )

    def claim_tick(self, job: str, tick: int) -> bool:
        """True for the one replica that claims `job` at this aligned tick (DESIGN, Scale)."""
        with translated(f"claiming tick {tick} of {job}"):
            return bool(
                self._redis.set(f"{_PREFIX}:tick:{job}:{tick}", "1", nx=True, ex=_CLAIM_TTL_S)
            )

    def home_hash(self, user: str) -> str | None:
        """The hash Slack gave the last App Home view published to `user`."""
        with translated("reading an App Home hash"):
            raw = self._redis.get(f"{_PREFIX}:home:{user}")
        return None if raw is None else str(raw)

    def remember_home_hash(self, user: str, view_hash: str) -> None:
        """Keep the view hash for the next views.publish."""
        with translated("recording an App Home hash"):
            self._redis.set(f"{_PREFIX}:home:{user}", view_hash)

    def alert_message(self, alert_id: str) -> dict[str, Any] | None:
        """Where an alert's message lives and what was said about it (see bot.slack.alerting)."""
        with translated(f"reading the message of alert {alert_id}"):
            raw = self._redis.get(f"{_PREFIX}:{{alert:{alert_id}}}:message")
        if raw is None:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    def remember_alert_message(self, alert_id: str, data: dict[str, Any]) -> None:
        """Record an alert's message (kept as long as a resolved alert: a week, then twice)."""
        with translated(f"recording the message of alert {alert_id}"):
            self._redis.set(
                f"{_PREFIX}:{{alert:{alert_id}}}:message", json.dumps(data), ex=_ALERT_TTL_S
            )


def _message_ref(raw: Any) -> MessageRef | None:
    """A stored message ref; refs recorded before teams (or versions) were read as unknown."""
    if raw is None:
        return None
    data = json.loads(raw)
    return MessageRef(
        channel=str(data["channel"]),
        ts=str(data["ts"]),
        rendered=str(data.get("rendered", "")),
        digest=str(data.get("digest", "")),
        version=int(data.get("version", 0)),
        team=str(data.get("team", "")),
    )


def _posting(raw: Any) -> Posting | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return Posting(
        channel=str(data["channel"]),
        mark=str(data["mark"]),
        notes=tuple(str(n) for n in data.get("notes", [])),
    )
