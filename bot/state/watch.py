"""The watch's state on Redis: baselines, alerts, read health and the sweep lease.

Keys (DESIGN.md, "State in Redis"); a service's baseline shares its rollout's hash tag, an
alert's keys share the alert's, so the same commands run on Redis Cluster:

    meshgate:{shop/checkout}:baseline   the service's baseline (JSON)
    meshgate:baselines                  the set of services that have one
    meshgate:{alert:ID}:alert           one alert (JSON with a version; compare-and-set)
    meshgate:{alert:ID}:shown           the alert revision its messages show
    meshgate:alerts:open                the set of open alert ids
    meshgate:alerts:outbox              alert ids with a revision not shown yet
    meshgate:watch:health               consecutive failed reads, since when, and why
    meshgate:watch:lease                the replica sweeping now, and until when (its clock)
    meshgate:tick:watch:N               the replica that claimed sweep tick N

An alert change is one round trip: the compare-and-set script and the index updates go in one
pipeline. Resolved alerts expire after a week (an ack of an old id says it is gone). Every
Redis failure becomes StoreUnavailable.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import redis
from pydantic import ValidationError

from bot.state.store import VERSION_GUARD, translated
from workflows.ports import StoreUnavailable
from workflows.watch.alerts import Alert
from workflows.watch.baselines import Baseline
from workflows.watch.sweeping import ReadHealth

_T = TypeVar("_T", Alert, Baseline, ReadHealth)
_PREFIX = "meshgate"
_BASELINES = f"{_PREFIX}:baselines"
_OPEN = f"{_PREFIX}:alerts:open"
_OUTBOX = f"{_PREFIX}:alerts:outbox"
_HEALTH = f"{_PREFIX}:watch:health"
_LEASE = f"{_PREFIX}:watch:lease"
# Resolved alerts stay a week: long enough for a late ack to be told, short enough not to pile up.
_RESOLVED_TTL_S = 7 * 24 * 3600
# Tick claims outlive any interval people set (the expiry sweep keeps them as long).
_TICK_TTL_S = 2 * 3600
# KEYS: alert document. ARGV: expected version (-1: must not exist), new document, TTL (0:
# none). Returns 1 when written, 0 when the stored version is not the expected one.
_PUT = (
    VERSION_GUARD
    + """
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""
)
# KEYS: shown counter. ARGV: revision. Only ever moves forward.
_SHOWN = """
local shown = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > shown then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1
"""
# KEYS: lease. ARGV: holder, now (epoch s, the caller's clock), until, safety TTL (s).
_LEASE_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held then
  local ok, lease = pcall(cjson.decode, held)
  if ok and lease['holder'] ~= ARGV[1] and tonumber(lease['until']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], cjson.encode({holder=ARGV[1], ['until']=tonumber(ARGV[3])}),
           'EX', ARGV[4])
return 1
"""
_RELEASE = """
local held = redis.call('GET', KEYS[1])
if held then
  local ok, lease = pcall(cjson.decode, held)
  if ok and lease['holder'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
return 1
"""


def baseline_key(service: str) -> str:
    """Where a service's baseline lives (its rollout's hash tag)."""
    return f"{_PREFIX}:{{{service}}}:baseline"


def alert_key(alert_id: str) -> str:
    """Where an alert's document lives."""
    return f"{_PREFIX}:{{alert:{alert_id}}}:alert"


def shown_key(alert_id: str) -> str:
    """Where the revision an alert's messages show is kept."""
    return f"{_PREFIX}:{{alert:{alert_id}}}:shown"


class RedisWatchStore:
    """A WatchStore on the Redis server the rollouts live on."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._put = client.register_script(_PUT)
        self._shown = client.register_script(_SHOWN)
        self._lease = client.register_script(_LEASE_SCRIPT)
        self._release = client.register_script(_RELEASE)

    # baselines ---------------------------------------------------------------------------

    def save_baseline(self, baseline: Baseline) -> None:
        """Store (or replace) a service's baseline."""
        with translated(f"storing the baseline of {baseline.service}"):
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(baseline_key(baseline.service), baseline.model_dump_json())
            pipe.sadd(_BASELINES, baseline.service)
            pipe.execute()

    def clear_baseline(self, service: str) -> None:
        """Forget a service's baseline."""
        with translated(f"clearing the baseline of {service}"):
            pipe = self._redis.pipeline(transaction=False)
            pipe.delete(baseline_key(service))
            pipe.srem(_BASELINES, service)
            pipe.execute()

    def baselines(self) -> list[Baseline]:
        """Every stored baseline, sorted by service (two round trips, whatever the count)."""
        with translated("reading baselines"):
            services = sorted(str(s) for s in self._redis.smembers(_BASELINES))
            raws = self._redis.mget([baseline_key(s) for s in services]) if services else []
        found = []
        for service, raw in zip(services, raws, strict=True):
            if raw:
                found.append(_decode(Baseline, str(raw), what=f"baseline of {service}"))
        return found

    # alerts ------------------------------------------------------------------------------

    def open_alerts(self) -> list[Alert]:
        """Every open alert (ids whose document says resolved or is gone are dropped)."""
        with translated("reading open alerts"):
            ids = sorted(str(i) for i in self._redis.smembers(_OPEN))
            raws = self._redis.mget([alert_key(i) for i in ids]) if ids else []
        alerts = [
            _decode(Alert, str(raw), what=f"alert {i}")
            for i, raw in zip(ids, raws, strict=True)
            if raw
        ]
        return [a for a in alerts if a.open]

    def alert(self, alert_id: str) -> Alert | None:
        """One alert, or None."""
        with translated(f"reading alert {alert_id}"):
            raw = self._redis.get(alert_key(alert_id))
        return None if raw is None else _decode(Alert, str(raw), what=f"alert {alert_id}")

    def put_alert(self, alert: Alert, *, expected_version: int | None) -> Alert | None:
        """Compare-and-set the alert and update the indexes, in one round trip."""
        stored = alert.model_copy(update={"version": (expected_version or 0) + 1})
        ttl = 0 if stored.open else _RESOLVED_TTL_S
        with translated(f"storing alert {alert.id}"):
            pipe = self._redis.pipeline(transaction=False)
            self._put(
                keys=[alert_key(alert.id)],
                args=[
                    -1 if expected_version is None else expected_version,
                    stored.model_dump_json(),
                    ttl,
                ],
                client=pipe,
            )
            if stored.open:
                pipe.sadd(_OPEN, alert.id)
            else:
                pipe.srem(_OPEN, alert.id)
            pipe.sadd(_OUTBOX, alert.id)
            written = pipe.execute()[0]
        if not written and not alert.open:
            # the resolution lost a race: the alert is still open in its document
            with translated(f"re-indexing alert {alert.id}"):
                self._redis.sadd(_OPEN, alert.id)
        return stored if written else None

    def undelivered(self) -> list[tuple[Alert, int]]:
        """Alerts in the outbox whose revision is ahead of what their messages show."""
        with translated("reading the alert outbox"):
            ids = sorted(str(i) for i in self._redis.smembers(_OUTBOX))
            if not ids:
                return []
            pipe = self._redis.pipeline(transaction=False)
            for i in ids:
                pipe.get(alert_key(i))
                pipe.get(shown_key(i))
            values = pipe.execute()
        pending, gone = [], []
        for n, alert_id in enumerate(ids):
            raw, shown = values[2 * n], values[2 * n + 1]
            if raw is None:
                gone.append(alert_id)
                continue
            alert = _decode(Alert, str(raw), what=f"alert {alert_id}")
            shown_revision = int(shown or 0)
            if shown_revision < alert.revision:
                pending.append((alert, shown_revision))
            else:
                gone.append(alert_id)
        if gone:
            with translated("trimming the alert outbox"):
                self._redis.srem(_OUTBOX, *gone)
        return pending

    def mark_delivered(self, alert: Alert) -> None:
        """Record that the alert's messages show `alert.revision`."""
        with translated(f"recording delivery of alert {alert.id}"):
            self._shown(keys=[shown_key(alert.id)], args=[alert.revision, _RESOLVED_TTL_S * 2])

    # sweeps ------------------------------------------------------------------------------

    def health(self) -> ReadHealth:
        """How the last sweeps read the cluster."""
        with translated("reading the watch's read health"):
            raw = self._redis.get(_HEALTH)
        return ReadHealth() if raw is None else _decode(ReadHealth, str(raw), what="read health")

    def put_health(self, health: ReadHealth) -> None:
        """Keep the read health for the next sweep."""
        with translated("recording the watch's read health"):
            self._redis.set(_HEALTH, health.model_dump_json())

    def claim_tick(self, tick: int) -> bool:
        """True for the one replica that claims sweep tick `tick`."""
        with translated(f"claiming watch tick {tick}"):
            return bool(
                self._redis.set(f"{_PREFIX}:tick:watch:{tick}", "1", nx=True, ex=_TICK_TTL_S)
            )

    def lease(self, *, holder: str, now: datetime, until: datetime) -> bool:
        """Hold the sweep lease until `until` unless another holder has it past `now`."""
        safety = max(int((until - now).total_seconds()) * 4, 60)  # a stopped clock cannot pin it
        with translated("taking the sweep lease"):
            return bool(
                self._lease(
                    keys=[_LEASE],
                    args=[holder, now.timestamp(), until.timestamp(), safety],
                )
            )

    def release(self, *, holder: str) -> None:
        """Give the lease up if `holder` has it."""
        with translated("releasing the sweep lease"):
            self._release(keys=[_LEASE], args=[holder])


def _decode(model: type[_T], raw: str, *, what: str) -> _T:
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise StoreUnavailable(
            f"the stored {what} is unreadable ({e.error_count()} problem(s))"
        ) from e
