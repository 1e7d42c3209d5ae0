"""Seeded random malformed Slack requests: slash command texts and interactive payloads.

Every command text is built so that no token in it can name a service or an alert (each
carries a character a Kubernetes name never has), so a correct bot answers each one with an
error and changes nothing. Payloads start from the shapes in tests/support/slack_requests.py
and are broken: keys removed, values of the wrong type, huge values, unknown types.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qs, urlencode

from bot.slack import alert_blocks, blocks
from tests.support import slack_requests

VERBS = (
    "", "help", "list", "start", "status", "advance", "approve", "reject", "attest",
    "rollback", "abort", "history", "metrics", "audit", "plan", "ack", "snooze",
    "START", "stat", "/rollout", "approve!", "☃",
)  # fmt: skip
# A Kubernetes name is lower-case ASCII letters, digits, '-' and '.': none of these is.
POISON = ("☃", "Ä", "\u200b", "\u202e", "😀", "\\", '"', "'", "<", ">", "*", "%", "$", "{", "_")
SHAPES = ("ns/name", "word", "long", "unicode", "slashes", "mention", "format", "number")
ACTIONS = (
    blocks.APPROVE_ACTION, blocks.REJECT_ACTION, alert_blocks.ACK_ACTION,
    alert_blocks.SNOOZE_HOUR_ACTION, alert_blocks.SNOOZE_DAY_ACTION, "no_such_action",
)  # fmt: skip
WRONG_VALUES: tuple[Any, ...] = (None, 0, -1, 1e308, True, [], {}, [None], "", "x" * 20_000)


def poisoned(rng: random.Random, text: str) -> str:
    """`text` with a character no Kubernetes or alert name has, somewhere in it."""
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(POISON) + text[at:]


def _char(code: int) -> str:
    """The character at `code`, moved off the surrogates (they cannot be sent as UTF-8)."""
    return chr(code + 0x800 if 0xD800 <= code <= 0xDFFF else code)


def token(rng: random.Random) -> str:
    shape = rng.choice(SHAPES)
    if shape == "ns/name":
        text = "shop/productpage"
    elif shape == "word":
        text = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz-./0123456789", k=rng.randint(1, 12)))
    elif shape == "long":
        text = rng.choice("aZ/-.") * rng.choice((254, 1000, 5000))
    elif shape == "unicode":
        text = "".join(_char(rng.randint(0xA0, 0x2FFFF)) for _ in range(rng.randint(1, 20)))
    elif shape == "slashes":
        text = "/".join(rng.choice(("shop", "..", "", "*", "productpage")) for _ in range(4))
    elif shape == "mention":
        text = rng.choice(("<!channel>", "<@U0BOSS>", "<#C111|x>", "<https://e.com|x>"))
    elif shape == "format":
        text = rng.choice(("%s%n", "{0}", "${HOME}", "`x`", "*b*", "\x00", "\t\n\r"))
    else:
        text = str(rng.randint(-(10**30), 10**30))
    return poisoned(rng, text)


def command_text(rng: random.Random) -> str:
    """A verb (real, near-miss or none) followed by 1 to 4 poisoned tokens."""
    verb = rng.choice(VERBS)
    words = [token(rng) for _ in range(rng.randint(1, 4))]
    return " ".join([verb, *words] if verb else words)


def _base_payload(rng: random.Random, user: str) -> dict[str, Any]:
    if rng.random() < 0.7:
        return slack_requests.block_actions_payload(
            action_id=rng.choice(ACTIONS),
            value=token(rng),
            user_id=user,
            message_ts=rng.choice(("1.2", "1700000000.000100", "", "x")),
        )
    return slack_requests.view_submission_payload(
        callback_id=rng.choice((blocks.REJECT_VIEW, "no_such_view")),
        values={"reason": {"text": {"type": "plain_text_input", "value": token(rng)}}},
        user_id=user,
        private_metadata=rng.choice((token(rng), "{}", json.dumps({"service": token(rng)}))),
    )


def _break(rng: random.Random, node: Any, depth: int = 0) -> Any:
    """Remove keys from and put wrong values into `node`, recursively, at random."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            roll = rng.random()
            if roll < 0.1:
                continue  # a missing key
            if roll < 0.25:
                out[key] = rng.choice(WRONG_VALUES)
            else:
                out[key] = _break(rng, value, depth + 1)
        return out
    if isinstance(node, list):
        return [_break(rng, item, depth + 1) for item in node]
    return node


def payload_body(rng: random.Random, user: str) -> tuple[bytes, str]:
    """A broken interactive request: (body, content type)."""
    roll = rng.random()
    if roll < 0.05:
        raw = rng.choice(("{not json", "[1, 2]", "null", '"block_actions"', "[" * 5000))
        return urlencode({"payload": raw}).encode(), slack_requests.FORM
    if roll < 0.1:
        return json.dumps(rng.choice(([1], {"type": 5}, None))).encode(), slack_requests.JSON
    payload = _break(rng, _base_payload(rng, user))
    # Slack's delivery ids are unique; a repeated one is a retry, which is acked and dropped
    payload["trigger_id"] = slack_requests.new_trigger_id()
    if rng.random() < 0.2:
        payload["type"] = rng.choice(("no_such_type", "shortcut", "message_action", 7, None))
    return urlencode({"payload": json.dumps(payload)}).encode(), slack_requests.FORM


def sender(body: bytes) -> str | None:
    """The user id a broken interactive request names, if it names one as a string."""
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        user = payload["user"]["id"]
    except (KeyError, IndexError, TypeError, ValueError, RecursionError):
        return None
    return user if isinstance(user, str) else None
