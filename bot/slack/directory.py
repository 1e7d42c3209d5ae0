"""Approver groups from Slack: who is in a user group (`usergroups.users.list`), cached.

Membership that cannot be read raises DirectoryUnavailable: the person is told meshgate could
not check group membership (`unavailable`), neither admitted nor called "not an approver" on a
guess; the error is logged without the token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from workflows.ports import DirectoryUnavailable

log = logging.getLogger(__name__)

# Group membership changes rarely; five minutes bounds how long a removed approver keeps rights.
CACHE_TTL_S = 300.0


class SlackDirectory:
    """A Directory over Slack user groups."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_s: float = CACHE_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def groups_of(self, user: str, *, candidates: Sequence[str]) -> frozenset[str]:
        """The candidate groups `user` belongs to."""
        return frozenset(g for g in candidates if user in self._members(g))

    def _members(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError) as e:
            error = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
            log.warning("cannot read members of user group %s: %s", group, error)
            raise DirectoryUnavailable(
                f"could not check group membership (Slack answered {error} for group {group})"
            ) from e
        members = frozenset(str(u) for u in response.get("users") or ())
        with self._lock:
            self._cache[group] = (now, members)
        return members
