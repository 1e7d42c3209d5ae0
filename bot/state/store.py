"""The state store on Redis: one JSON document per rollout, written by compare-and-set.

Keys (DESIGN.md, "State in Redis"); the hash tag `{NS/NAME}` keeps a rollout's keys in one slot
so the same transaction works on Redis Cluster:

    meshgate:{shop/checkout}:rollout   the rollout document (JSON, with a version)
    meshgate:{shop/checkout}:trail     the audit trail (a stream of TrailEntry JSON)
    meshgate:{shop/checkout}:change:P  what phase P's applied change replaced (for rollback)
    meshgate:{shop/checkout}:before:P  the service's numbers just before phase P's change
    meshgate:rollouts                  the set of services that have a rollout
    meshgate:comparisons               before/after metric comparisons, by due time

A transition costs two round trips: `load` (GET) and `commit`, one Lua script that checks the
stored version is still the one decided on, then SETs the document and XADDs its trail entries
atomically. If anyone wrote in between, `commit` answers False and the caller decides again on
the newer document, so fifty concurrent approvals give exactly one transition. Any Redis
failure becomes StoreUnavailable with nothing half-written.

On a Redis Cluster (`redis+cluster://`, bot.state.urls) the same code runs: a transition's keys
share the hash tag, so the script runs on one node; reads across rollouts (`rollouts`) fetch
per slot. The client is built on first use, so a store can be opened while Redis is down and
says `unavailable` until it answers, like the other forms.

A call gives up after the store's timeout (3 s; a hung server is not retried, bot.state.urls),
so a command that needs a hung Redis answers `unavailable` within it. `quick_client` gives up
after QUICK_TIMEOUT_S, for bookkeeping that must not hold up the work behind it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import redis
from pydantic import ValidationError
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import RedisClusterException

from bot import observability
from bot.observability import Dependency
from bot.state import urls as redis_urls
from workflows.gates.metrics_snapshot import MetricsSnapshot
from workflows.ports import StoreUnavailable
from workflows.rollout.state import Rollout
from workflows.rollout.trail import TrailEntry

log = logging.getLogger(__name__)

_PREFIX = "meshgate"
_INDEX = f"{_PREFIX}:rollouts"
# before/after metric comparisons by due time (score: epoch seconds), "service|phase" members
_COMPARISONS = f"{_PREFIX}:comparisons"
# A stream entry is ~300 bytes; 10,000 keeps years of a rollout's history in ~3 MB.
_TRAIL_MAXLEN = 10_000
# A SET NX on a healthy Redis answers in well under a millisecond, on a loaded one in a few;
# half a second is generous, and keeps Slack's 3 s for the work behind it when Redis hangs.
QUICK_TIMEOUT_S = 0.5
# KEYS: document, trail. ARGV: expected version (-1: no document yet), new document, trail
# MAXLEN, then one trail entry per remaining argument. Returns 1 when written, 0 when the
# stored version moved on (nothing written). Both keys share the rollout's hash tag.
# The compare half of a compare-and-set on a JSON document with a `version` (KEYS[1]; ARGV[1]:
# the expected version, -1 for "must not exist yet"): returns 0, writing nothing, on a mismatch.
VERSION_GUARD = """
local current = redis.call('GET', KEYS[1])
local expected = tonumber(ARGV[1])
if expected < 0 then
  if current then return 0 end
else
  if not current then return 0 end
  local ok, decoded = pcall(cjson.decode, current)
  if not ok or decoded['version'] ~= expected then return 0 end
end
"""
_COMMIT = (
    VERSION_GUARD
    + """
redis.call('SET', KEYS[1], ARGV[2])
for i = 4, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'entry', ARGV[i])
end
return 1
"""
)


def rollout_key(service: str) -> str:
    """The document key of a service's rollout."""
    return f"{_PREFIX}:{{{service}}}:rollout"


def trail_key(service: str) -> str:
    """The stream key of a service's audit trail."""
    return f"{_PREFIX}:{{{service}}}:trail"


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn redis-py errors into StoreUnavailable, without URLs or passwords in the text."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, RedisClusterException) as e:
        # RedisClusterException: no node of the cluster answered (not a RedisError)
        observability.dependency_error(Dependency.REDIS, e)
        raise StoreUnavailable(f"cannot reach Redis while {what}: {type(e).__name__}") from e
    except redis.RedisError as e:
        observability.dependency_error(Dependency.REDIS, e)
        raise StoreUnavailable(f"Redis refused {what}: {str(e).splitlines()[0][:200]}") from e


class RedisStore:
    """A StateStore on Redis: a server, Sentinel's master, or a Cluster (same keys)."""

    def __init__(
        self,
        client: redis_urls.RedisClient | None = None,
        *,
        connect: Callable[[], redis_urls.RedisClient] | None = None,
    ) -> None:
        if (client is None) == (connect is None):
            raise ValueError("give a client or a way to connect, not both")
        self._client = client
        self._connect = connect
        self._lock = threading.Lock()
        self._script: Script | None = None
        self._quick: RedisStore | None = None

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 3.0, quick_timeout: float = QUICK_TIMEOUT_S
    ) -> RedisStore:
        """Connect lazily to `url` (see bot.state.urls: server, TLS, socket, Sentinel, Cluster)."""
        redis_urls.check(url)
        store = cls(connect=lambda: redis_urls.client(url, timeout=timeout))
        store._quick = cls(connect=lambda: redis_urls.client(url, timeout=quick_timeout))
        return store

    @property
    def _redis(self) -> redis_urls.RedisClient:
        if self._client is None:
            with self._lock, translated("connecting"):
                if self._client is None and self._connect is not None:
                    self._client = self._connect()
        assert self._client is not None  # noqa: S101 - set above or raised
        return self._client

    @property
    def _commit_script(self) -> Script:
        if self._script is None:
            self._script = self._redis.register_script(_COMMIT)
        return self._script

    @property
    def client(self) -> redis.Redis:
        """The Redis client, for adapters that keep their own keys beside the rollouts.

        On a Cluster this is a RedisCluster, which has the same single-key commands; keys an
        adapter uses together must share a hash tag there.
        """
        return cast(redis.Redis, self._redis)

    @property
    def quick_client(self) -> redis.Redis:
        """A client on the same Redis that gives up after QUICK_TIMEOUT_S (a delivery claim);
        the store's own client when the store was given one."""
        return self._quick.client if self._quick is not None else self.client

    def close(self) -> None:
        """Release the connection pools."""
        if self._client is not None:
            self._client.close()
        if self._quick is not None:
            self._quick.close()

    def ping(self) -> None:
        """Raise StoreUnavailable unless Redis answers."""
        with translated("checking the connection"):
            self._redis.ping()

    def load(self, service: str) -> Rollout | None:
        """The stored rollout, or None; a corrupt document is reported, not ignored."""
        with translated(f"reading {service}"):
            raw = self._redis.get(rollout_key(service))
        return None if raw is None else _decode(service, str(raw))

    def commit(
        self,
        rollout: Rollout,
        *,
        expected_version: int | None,
        entries: Sequence[TrailEntry],
    ) -> bool:
        """Store `rollout` and its trail entries if the stored version is `expected_version`.

        None means "no document yet" (a first start). False when someone wrote in between:
        nothing was written, and the caller decides again on the newer document.
        """
        service = rollout.service
        with translated(f"updating {service}"):
            if expected_version is None:
                # Idempotent and outside the script (another slot on Redis Cluster): a name
                # without a document (the commit lost) is skipped by `rollouts`.
                self._redis.sadd(_INDEX, service)
            written = self._commit_script(
                keys=[rollout_key(service), trail_key(service)],
                args=[
                    -1 if expected_version is None else expected_version,
                    rollout.model_dump_json(),
                    _TRAIL_MAXLEN,
                    *(e.model_dump_json() for e in entries),
                ],
            )
        return bool(written)

    def record(self, service: str, entry: TrailEntry) -> None:
        """Append a trail entry that changes no state (a refusal)."""
        with translated(f"recording history of {service}"):
            self._redis.xadd(
                trail_key(service),
                {"entry": entry.model_dump_json()},
                maxlen=_TRAIL_MAXLEN,
                approximate=True,
            )

    def history(self, service: str, *, limit: int) -> list[TrailEntry]:
        """The newest `limit` entries, oldest first."""
        with translated(f"reading history of {service}"):
            rows = self._redis.xrevrange(trail_key(service), count=limit)
        entries = []
        for _id, fields in reversed(rows or []):
            try:
                entries.append(TrailEntry.model_validate_json((fields or {})["entry"]))
            except (KeyError, ValidationError):
                log.warning("skipping unreadable trail entry %s of %s", _id, service)
        return entries

    def rollouts(self) -> list[Rollout]:
        """Every stored rollout, sorted by service."""
        with translated("listing rollouts"):
            services = sorted(str(s) for s in self._redis.smembers(_INDEX))
            keys = [rollout_key(s) for s in services]
            raws: list[Any] = []
            if keys and isinstance(self._redis, RedisCluster):
                raws = self._redis.mget_nonatomic(keys)  # one MGET per slot
            elif keys:
                raws = self._redis.mget(keys)
        return [_decode(s, str(raw)) for s, raw in zip(services, raws, strict=True) if raw]

    def save_change(
        self, service: str, phase: str, records: list[dict[str, Any]], *, entry: TrailEntry | None
    ) -> None:
        """Keep what a phase's change replaces (for its rollback), with its trail entry if any."""
        with (
            translated(f"recording the change of {service}"),
            self._redis.pipeline(transaction=False) as pipe,  # one round trip, any node
        ):
            pipe.set(change_key(service, phase), json.dumps(records))
            if entry is not None:
                pipe.xadd(
                    trail_key(service),
                    {"entry": entry.model_dump_json()},
                    maxlen=_TRAIL_MAXLEN,
                    approximate=True,
                )
            pipe.execute()

    def change_of(self, service: str, phase: str) -> list[dict[str, Any]] | None:
        """The records saved for a phase's change, or None."""
        with translated(f"reading the change of {service}"):
            raw = self._redis.get(change_key(service, phase))
        if raw is None:
            return None
        records = json.loads(str(raw))
        return [dict(r) for r in records] if isinstance(records, list) else None

    def forget_change(self, service: str, phase: str) -> None:
        """Drop a phase's change records once it was rolled back."""
        with translated(f"clearing the change of {service}"):
            self._redis.delete(change_key(service, phase))

    def save_before(
        self, service: str, phase: str, snapshot: MetricsSnapshot, *, compare_at: datetime
    ) -> None:
        """Keep the numbers from just before a phase's change, and when to compare them."""
        with translated(f"recording the metrics of {service}"):
            self._redis.set(before_key(service, phase), snapshot.model_dump_json(by_alias=True))
            self._redis.zadd(_COMPARISONS, {f"{service}|{phase}": compare_at.timestamp()})

    def before_of(self, service: str, phase: str) -> MetricsSnapshot | None:
        """The numbers kept from just before the phase's change, or None."""
        with translated(f"reading the metrics of {service}"):
            raw = self._redis.get(before_key(service, phase))
        if raw is None:
            return None
        try:
            return MetricsSnapshot.model_validate_json(raw)
        except ValidationError:
            log.warning("unreadable 'before' metrics of %s phase %s", service, phase)
            return None

    def due_comparisons(self, *, now: datetime) -> list[tuple[str, str]]:
        """(service, phase) whose before/after comparison is due at `now`."""
        with translated("listing due metric comparisons"):
            due = self._redis.zrangebyscore(_COMPARISONS, "-inf", now.timestamp())
        pairs = [str(m.decode() if isinstance(m, bytes) else m).split("|", 1) for m in due]
        return [(p[0], p[1]) for p in pairs if len(p) == 2]

    def compared(self, service: str, phase: str) -> bool:
        """Mark a comparison done; False when another replica already did it."""
        with translated("marking a metric comparison done"):
            return bool(self._redis.zrem(_COMPARISONS, f"{service}|{phase}"))


def before_key(service: str, phase: str) -> str:
    """Where the numbers from just before a phase's change live (for `not_worse`)."""
    return f"{_PREFIX}:{{{service}}}:before:{phase}"


def change_key(service: str, phase: str) -> str:
    """Where the records of a phase's applied change live."""
    return f"{_PREFIX}:{{{service}}}:change:{phase}"


def _decode(service: str, raw: str) -> Rollout:
    try:
        return Rollout.model_validate_json(raw)
    except ValidationError as e:
        raise StoreUnavailable(
            f"the stored rollout of {service} is unreadable ({e.error_count()} problem(s)); "
            f"inspect key {rollout_key(service)}"
        ) from e
