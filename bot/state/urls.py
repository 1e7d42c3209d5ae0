"""Redis clients from MESHGATE_REDIS_URL: a server, TLS, a Unix socket, Sentinel or Cluster.

    redis://[:password@]host:port/db          one server
    rediss://...                              the same over TLS
    unix:///path/to/redis.sock                a local socket (the embedded server)
    redis+sentinel://[:password@]h1:26379,h2:26379/mymaster[/db]
                                              the master Sentinel names `mymaster`, found anew
                                              after a failover (redis-py's SentinelConnectionPool)
    redis+cluster://[:password@]h1:6379[,h2:6379]
    rediss+cluster://...                      a Redis Cluster (redis-py's RedisCluster): the
                                              nodes named are where it starts; it learns the
                                              others and follows MOVED/ASK redirections

redis-py parses the first three itself; Sentinel and Cluster URLs are not a redis-py format,
so they are parsed here. The password, if any, is for the data servers; Sentinels are asked
without one. A cluster has one database, so a Cluster URL names none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from bot.errors import BotError

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SCHEMES = (
    "redis://",
    "rediss://",
    "unix://",
    f"{SENTINEL_SCHEME}://",
    *(f"{scheme}://" for scheme in CLUSTER_SCHEMES),
)


class RedisUrlInvalid(BotError, ValueError):
    """The URL cannot name a Redis server; the message says what is wrong (no password)."""


@dataclass(frozen=True)
class SentinelTarget:
    """What a Sentinel URL names."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ClusterTarget:
    """What a Cluster URL names."""

    nodes: tuple[tuple[str, int], ...]
    tls: bool = False
    password: str | None = field(default=None, repr=False)


def check(url: str) -> None:
    """Raise RedisUrlInvalid for an unknown scheme or a malformed Sentinel or Cluster URL."""
    if not url.startswith(SCHEMES):
        raise RedisUrlInvalid("must start with " + ", ".join(SCHEMES))
    if url.startswith(f"{SENTINEL_SCHEME}://"):
        sentinel_target(url)
    if is_cluster(url):
        cluster_target(url)


def is_cluster(url: str) -> bool:
    """True for a `redis+cluster://` or `rediss+cluster://` URL."""
    return url.startswith(tuple(f"{scheme}://" for scheme in CLUSTER_SCHEMES))


def cluster_target(url: str) -> ClusterTarget:
    """Parse `redis+cluster://[:password@]h1:port[,h2:port]` (TLS with `rediss+cluster`)."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts:
        raise RedisUrlInvalid("a Cluster URL needs nodes: redis+cluster://host:6379[,host:6379]")
    if parts.path.strip("/"):
        raise RedisUrlInvalid("a Redis Cluster has one database: leave the path out")
    return ClusterTarget(
        nodes=_addresses(hosts, what="Cluster node"),
        tls=parts.scheme == "rediss+cluster",
        password=unquote(parts.password) if parts.password else None,
    )


def _addresses(hosts: str, *, what: str) -> tuple[tuple[str, int], ...]:
    found = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise RedisUrlInvalid(f"{what} address {host!r} is not host:port")
        found.append((name, int(port)))
    return tuple(found)


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
    sentinels = _addresses(hosts, what="Sentinel")
    if len(path) > 1 and not path[1].isdigit():
        raise RedisUrlInvalid(f"database {path[1]!r} is not a number")
    return SentinelTarget(
        sentinels=sentinels,
        master=path[0],
        db=int(path[1]) if len(path) > 1 else 0,
        password=unquote(parts.password) if parts.password else None,
    )


RedisClient = redis.Redis | RedisCluster


def _retry() -> Retry:
    """Once more at once on a broken connection (the server restarted under a pooled one);
    never on a timeout, so a hung server costs one `timeout` per call, not several."""
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def client(url: str, *, timeout: float) -> RedisClient:
    """A client for `url` with short timeouts and text responses.

    A Cluster client connects at once (to learn the slots): redis errors reach the caller.
    A call to a server or Sentinel's master that hangs fails after `timeout` (not retried).
    """
    check(url)
    if is_cluster(url):
        return _cluster_client(cluster_target(url), timeout=timeout)
    if not url.startswith(f"{SENTINEL_SCHEME}://"):
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
            retry=_retry(),
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
        retry=_retry(),
    )
    return master


def _cluster_client(target: ClusterTarget, *, timeout: float) -> RedisCluster:
    nodes = [ClusterNode(host, port) for host, port in target.nodes]  # type: ignore[no-untyped-call]
    return RedisCluster(
        startup_nodes=nodes,
        password=target.password,
        ssl=target.tls,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )
