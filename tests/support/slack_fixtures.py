"""Pytest fixtures for the Slack stand-ins (tests/support/slack_api.py, socket_mode.py).

Register with `pytest_plugins = ["tests.support.slack_fixtures"]` in tests/conftest.py.

- `slack_api`: a started Web API stand-in; point a WebClient at `slack_api.base_url`. At
  teardown the test fails if a protocol violation is left in `slack_api.violations` (a test that
  provokes one on purpose takes it with `slack_api.take_violations()`).
- `socket_mode_server`: a started Socket Mode server that `slack_api`'s apps.connections.open
  hands out.

Both are stopped at the end of the test; stop the app (Bolt's SocketModeHandler, the WebClient's
users) in a fixture that depends on these, so it goes first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.slack_api import SlackWebStandIn
from tests.support.socket_mode import SocketModeServer


@pytest.fixture
def slack_api() -> Iterator[SlackWebStandIn]:
    """A started Slack Web API stand-in; fails the test if protocol violations remain."""
    stand_in = SlackWebStandIn().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
    if stand_in.violations:
        listed = "\n  ".join(str(v) for v in stand_in.violations)
        pytest.fail(f"the app broke the Slack Web API protocol:\n  {listed}", pytrace=False)


@pytest.fixture
def socket_mode_server(slack_api: SlackWebStandIn) -> Iterator[SocketModeServer]:
    """A started Socket Mode server, wired into `slack_api`'s apps.connections.open."""
    server = SocketModeServer(app_id=slack_api.app_id).start()
    slack_api.socket_mode_url = server.url
    try:
        yield server
    finally:
        slack_api.socket_mode_url = None
        server.stop()
