"""Shared fixtures: a real Redis server per session, a clean database per test, and the root
logger given back as each test found it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import Redactor
from bot.state.store import RedisStore
from tests.support.clock import ManualClock
from tests.support.redis_server import RedisServer

pytest_plugins = [
    "tests.support.slack_fixtures",
    "tests.support.kube_fixtures",
    "tests.support.prometheus",
]


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """`meshgate` run in-process configures logging (bot.logs.configure puts a handler on the
    stream of that moment at the root): remove it after the test, so a handler on a closed
    capture stream does not outlive its test, and give the root its level back."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if any(isinstance(f, Redactor) for f in handler.filters):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(data_dir=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    s = RedisStore.from_url(redis_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test's own, which the test may kill."""
    server = RedisServer(data_dir=tmp_path / "redis").start()
    yield server
    server.kill()
