"""The Slack Web API client meshgate uses: slack_sdk's, with every failed call counted.

Every Web API method of slack_sdk's WebClient goes through `api_call`, so counting there sees
each failure once, after the client's own retries (429s waited out), whoever catches it later:
`meshgate_dependency_errors_total{dependency="slack", kind=<error class>}` (bot.observability).
Bolt's per-request clients (the `client` a listener may ask for) are plain WebClients and not
counted, so meshgate's listeners call Slack through the app's client (`app.client`, this one).
An answer that is part of a method's protocol (views.publish's `hash_conflict`: publish again
without the hash) is not a failure and is not counted.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.slack_response import SlackResponse

from bot import observability
from bot.observability import Dependency

# What a Web API call can raise: Slack's refusal, the SDK's own errors, and the network's
# (a timeout, a reset, an unreachable host: TimeoutError and URLError are OSErrors).
SLACK_ERRORS = (SlackApiError, SlackClientError, OSError)

# Slack `error`s that a caller expects and handles as a normal answer.
_PROTOCOL_ANSWERS = frozenset({"hash_conflict"})


class CountedWebClient(WebClient):
    """A WebClient that counts each call Slack refused or that did not reach Slack."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        """Call `api_method` as WebClient does; count the failure before it propagates."""
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as e:
            if e.response.get("error") not in _PROTOCOL_ANSWERS:
                observability.dependency_error(Dependency.SLACK, e)
            raise
        except (SlackClientError, OSError) as e:
            observability.dependency_error(Dependency.SLACK, e)
            raise
