"""Requests as Slack sends them to an app: shaped, encoded and signed, then POSTed over HTTP.

End-to-end tests drive the running Bolt app the way Slack does (DESIGN.md, "Real parts in
tests"), so the bodies here follow the real payloads kept in
tests/reference/slack/payloads (slash_command.json, block_actions.json,
view_submission.json, app_home_opened_event_callback.json), and the signature follows Slack's
documented v0 scheme (docs.slack.dev/authentication/verifying-requests-from-slack):

    X-Slack-Request-Timestamp: <unix seconds>
    X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:<timestamp>:<raw body>"))

Each kind of request has a `*_payload` / `*_fields` function that builds the dict (the Socket
Mode envelopes reuse those) and a `*_body` function that encodes it as Slack does: slash
commands as a form, interactions as a form with one `payload` field of JSON, events as JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# Identifiers of the workspace the requests come from; the same as the reference payloads.
TEAM_ID = "T111"
TEAM_DOMAIN = "workspace-domain"
API_APP_ID = "A111"
# Slack still sends the deprecated verification token in bodies; Bolt ignores it.
VERIFICATION_TOKEN = "verification_token"

_counter = itertools.count(1)


def sign(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers Slack adds to every request: its timestamp and its v0 signature."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def _unique(prefix: str) -> str:
    n = next(_counter)
    return f"{prefix}{n}.{n * 7919 % 1_000_000:06d}"


def new_trigger_id() -> str:
    """A fresh trigger id, shaped like Slack's "111.222.xxx"."""
    return f"{_unique('1')}.{secrets.token_hex(4)}"


# -- slash commands ------------------------------------------------------------------------------


def slash_command_fields(
    *,
    command: str = "/rollout",
    text: str,
    user_id: str = "W111",
    user_name: str = "primary-owner",
    channel_id: str = "C111",
    channel_name: str = "random",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    trigger_id: str | None = None,
    response_url: str = "https://hooks.slack.com/commands/T111/111/xxxxx",
    api_app_id: str = API_APP_ID,
) -> dict[str, str]:
    """The fields of a slash command request, in the order Slack sends them."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_command_body(
    *,
    command: str = "/rollout",
    text: str,
    user_id: str = "W111",
    user_name: str = "primary-owner",
    channel_id: str = "C111",
    channel_name: str = "random",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    response_url: str = "https://hooks.slack.com/commands/T111/111/xxxxx",
) -> bytes:
    """A slash command as Slack POSTs it: application/x-www-form-urlencoded."""
    fields = slash_command_fields(
        command=command,
        text=text,
        user_id=user_id,
        user_name=user_name,
        channel_id=channel_id,
        channel_name=channel_name,
        team_id=team_id,
        trigger_id=trigger_id,
        response_url=response_url,
    )
    return urlencode(fields).encode()


# -- interactions --------------------------------------------------------------------------------


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    user_id: str = "W111",
    user_name: str = "primary-owner",
    channel_id: str = "C111",
    channel_name: str = "random",
    message_ts: str,
    message: Mapping[str, Any] | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    button_text: str = "Button",
    team_id: str = TEAM_ID,
    response_url: str = "https://hooks.slack.com/actions/T111/111/random-value",
    trigger_id: str | None = None,
    is_ephemeral: bool = False,
    state_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A click on a message's button, shaped like payloads/block_actions.json.

    `message` is the message clicked, as Slack includes it (e.g. `slack_api.message(ch, ts)`);
    without it a minimal message with `message_ts` stands in.
    """
    clicked = dict(message) if message is not None else {"type": "message", "text": ""}
    clicked.setdefault("ts", message_ts)
    clicked.setdefault("type", "message")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "type": action_type,
        "action_ts": _unique("1700000"),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text, "emoji": True}
    return {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": clicked,
        "state": {"values": dict(state_values or {})},
        "response_url": response_url,
        "actions": [action],
    }


def block_actions_body(
    *,
    action_id: str,
    value: str,
    user_id: str = "W111",
    user_name: str = "primary-owner",
    channel_id: str = "C111",
    message_ts: str,
    message: Mapping[str, Any] | None = None,
    block_id: str = "actions",
    response_url: str = "https://hooks.slack.com/actions/T111/111/random-value",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> bytes:
    """A button click as Slack POSTs it: a form with one `payload` field of JSON."""
    payload = block_actions_payload(
        action_id=action_id,
        value=value,
        user_id=user_id,
        user_name=user_name,
        channel_id=channel_id,
        message_ts=message_ts,
        message=message,
        block_id=block_id,
        response_url=response_url,
        trigger_id=trigger_id,
        team_id=team_id,
    )
    return interaction_body(payload)


def view_submission_payload(
    *,
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str = "W111",
    user_name: str = "primary-owner",
    private_metadata: str = "",
    view_id: str = "V111",
    blocks: Sequence[Mapping[str, Any]] = (),
    title: str = "meshgate",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A modal's submission, shaped like payloads/view_submission.json.

    `values` is `view.state.values`: block_id -> action_id -> element state, e.g.
    `{"reason": {"text": {"type": "plain_text_input", "value": "too risky"}}}`.
    """
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [dict(b) for b in blocks],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": {k: dict(v) for k, v in values.items()}},
            "hash": "1596530361.3wRYuk3R",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": API_APP_ID,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B111",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_submission_body(
    *,
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str = "W111",
    user_name: str = "primary-owner",
    private_metadata: str = "",
    view_id: str = "V111",
    blocks: Sequence[Mapping[str, Any]] = (),
    team_id: str = TEAM_ID,
) -> bytes:
    """A modal's submission as Slack POSTs it: a form with one `payload` field of JSON."""
    return interaction_body(
        view_submission_payload(
            callback_id=callback_id,
            values=values,
            user_id=user_id,
            user_name=user_name,
            private_metadata=private_metadata,
            view_id=view_id,
            blocks=blocks,
            team_id=team_id,
        )
    )


def interaction_body(payload: Mapping[str, Any]) -> bytes:
    """Any interaction payload encoded as Slack does: `payload=<JSON>`, form-encoded."""
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- events --------------------------------------------------------------------------------------


def app_home_opened_event(
    *, user_id: str = "W111", channel: str = "D111", tab: str = "home"
) -> dict[str, Any]:
    """The `app_home_opened` event, as inside payloads/app_home_opened_event_callback.json."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": tab,
        "event_ts": _unique("1700000"),
    }


def event_callback_payload(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    event_time: int = 1_700_000_000,
    bot_user_id: str = "U0MESHGATE",
) -> dict[str, Any]:
    """An Events API `event_callback` around `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_counter):08d}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def event_callback_body(
    event: Mapping[str, Any], *, team_id: str = TEAM_ID, event_id: str | None = None
) -> bytes:
    """An Events API request as Slack POSTs it: JSON."""
    return json.dumps(event_callback_payload(event, team_id=team_id, event_id=event_id)).encode()


def url_verification_body(challenge: str) -> bytes:
    """The handshake Slack sends when the Request URL is saved."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


# -- sending -------------------------------------------------------------------------------------


def post(
    url: str,
    body: bytes,
    *,
    secret: str,
    content_type: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    signature: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], str]:
    """POST a signed request as Slack does; returns (status, headers, text), even for 4xx/5xx.

    `timestamp` defaults to now (Bolt checks it against its clock, five minutes either way);
    `retry_num` adds Slack's `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` headers;
    `signature` replaces the computed one, to forge a request.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": content_type, **sign(body, secret=secret, timestamp=ts)}
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers.items()), e.read().decode()
