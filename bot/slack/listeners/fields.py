"""What a listener reads from a click or a submission, refused as the wrong shape when absent.

Slack always sends the clicker's user id as a string, and a click on a channel message always
names the channel. A payload without them cannot be answered (an ephemeral needs both), so it
is refused before it is acked: these raise the errors bot.slack.gate.answer_bolt_error answers
400, instead of reading `-1` as a user or "" as a channel and posting to neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def user_id(body: Mapping[str, Any]) -> str:
    """The user who clicked or submitted; TypeError unless a non-empty string."""
    user = body["user"]["id"]
    if not isinstance(user, str) or not user:
        raise TypeError("user.id is not a user id")
    return user


def channel_id(body: Mapping[str, Any]) -> str:
    """The channel of the message clicked; KeyError when the payload names none."""
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    found = channel.get("id") or container.get("channel_id")
    if not isinstance(found, str) or not found:
        raise KeyError("channel.id")
    return found
