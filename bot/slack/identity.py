"""Who the bot is in Slack (auth.test), learned off the request path and handed to Bolt.

Bolt, given a token, calls `auth.test` inside the first request it serves (and inside every
request while that call fails), before any listener can ack: a Slack answering in 20 s held
every early ack past Slack's 3 s. Here Bolt's `authorize` answers at once from what is known:
the bot token always, the team and the bot's ids once `auth.test` has answered. `learn` runs on
the worker (at start, and again on a request while the ids are still unknown), never on a
request thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)
Submit = Callable[[Callable[[], None]], None]


class BotIdentity:
    """The bot's token and, once learned, its team and ids; Bolt's `authorize`."""

    def __init__(self, *, client: WebClient, submit: Submit) -> None:
        self._client = client
        self._submit = submit
        self._lock = threading.Lock()
        self._known: AuthorizeResult | None = None
        self._learning = False

    def learn(self) -> None:
        """Ask Slack who the bot is (on the worker); a failure is logged and tried again later."""
        try:
            response = self._client.auth_test()
            known = AuthorizeResult(
                enterprise_id=response.get("enterprise_id"),
                team_id=response.get("team_id"),
                team=response.get("team"),
                url=response.get("url"),
                bot_user_id=response.get("user_id"),
                bot_id=response.get("bot_id"),
                bot_token=self._client.token,
            )
        except (SlackApiError, SlackClientError, OSError) as e:
            log.warning("auth.test failed (%s); the bot's ids stay unknown", type(e).__name__)
            known = None
        with self._lock:
            self._learning = False
            self._known = known or self._known

    def start_learning(self) -> None:
        """Hand `learn` to the worker unless it is already there."""
        with self._lock:
            if self._learning:
                return
            self._learning = True
        self._submit(self.learn)

    def authorize(self) -> AuthorizeResult:
        """Bolt's authorize: what is known now, never a call to Slack."""
        with self._lock:
            known = self._known
        if known is not None:
            return known
        self.start_learning()
        return AuthorizeResult(enterprise_id=None, team_id=None, bot_token=self._client.token)
