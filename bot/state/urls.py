"""Redis clients from MESHGATE_REDIS_URL: a server, TLS, a Unix socket, or Sentinel.

    redis://[:password@]host:port/db          one server
    rediss://...                              the same over TLS
    unix:///path/to/redis.sock                a local socket (the embedded server)
    redis+sentinel://[:password@]h1:26379,h2:26379/mymaster[/db]
                                              the master Sentinel names `mymaster`, found anew
                                              after a failover (redis-py's SentinelConnectionPool)

redis-py parses the first three itself; Sentinel URLs are not a redis-py format, so they are
parsed here. The password, if any, is for the data servers; Sentinels are asked without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from bot.errors import BotError

SENTINEL_SCHEME = "redis+sentinel"
SCHEMES = ("redis://", "rediss://", "unix://", f"{SENTINEL_SCHEME}://")


class RedisUrlInvalid(BotError, ValueError):
    """The URL cannot name a Redis server; the message says what is wrong (no password)."""


@dataclass(frozen=True)
class SentinelTarget:
    """What a Sentinel URL names."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    password: str | None = field(default=None, repr=False)


def check(url: str) -> None:
    """Raise RedisUrlInvalid when `url` has an unknown scheme or a malformed Sentinel part."""
    if not url.startswith(SCHEMES):
        raise RedisUrlInvalid("must start with " + ", ".join(SCHEMES))
    if url.startswith(f"{SENTINEL_SCHEME}://"):
        sentinel_target(url)


def sentinel_target(url: str) -> SentinelTarget:
    """Parse `redis+sentinel://[:password@]h1:port[,h2:port]/master[/db]`."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    path = [p for p in parts.path.split("/") if p]
    if not hosts or not path:
        raise RedisUrlInvalid(
            "a Sentinel URL needs hosts and a master name: "
            "redis+sentinel://host:26379[,host:26379]/mymaster[/db]"
        )
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise RedisUrlInvalid(f"Sentinel address {host!r} is not host:port")
        sentinels.append((name, int(port)))
    if len(path) > 1 and not path[1].isdigit():
        raise RedisUrlInvalid(f"database {path[1]!r} is not a number")
    return SentinelTarget(
        sentinels=tuple(sentinels),
        master=path[0],
        db=int(path[1]) if len(path) > 1 else 0,
        password=unquote(parts.password) if parts.password else None,
    )


def client(url: str, *, timeout: float) -> redis.Redis:
    """A client for `url` with short timeouts and text responses."""
    check(url)
    if not url.startswith(f"{SENTINEL_SCHEME}://"):
        return redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
    target = sentinel_target(url)
    watcher = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), socket_timeout=timeout, socket_connect_timeout=timeout
    )
    master: redis.Redis = watcher.master_for(  # type: ignore[no-untyped-call]
        target.master,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
        password=target.password,
        db=target.db,
    )
    return master
