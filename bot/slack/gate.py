"""What a POST to /slack/events must be before Bolt sees it: small, signed, then well-formed.

Checked in this order, each before any work the next one needs, so an unsigned request costs
at most one bounded read and one HMAC:

    size       Content-Length a number, at most MAX_BODY_BYTES     else 400 / 413, body unread
    text       UTF-8 (Slack sends nothing else; slack_sdk's verifier
               decodes the body and would raise)                      else 400
    signature  X-Slack-Request-Timestamp digits within five minutes, X-Slack-Signature
               v0=<64 hex>, HMAC-SHA256 of the raw bytes matching    else 401, body unparsed
    shape      a JSON body (or a form's `payload`) an object          else 400

Bolt checks the signature again on the same bytes (it cannot be told it was checked here).
A refusal is a value (status and a short reason); the caller answers it and logs one line.

A signed, well-formed request can still lack what Bolt or a listener reads (`user` a string,
`actions` empty, ...): `answer_bolt_error` is the app's Bolt error handler, and answers those
400, an action meshgate does not handle 404, anything else 500, each with one log line.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

# Slack's requests are small: a slash command is under 1 KB, and the largest, a click, carries
# the clicked message, which Slack caps at 50 blocks (meshgate's own messages are a few KB).
# 1 MiB leaves room for the largest message Slack allows, form-encoded, and refuses anything
# bigger before a byte of it is read.
MAX_BODY_BYTES = 1 << 20
log = logging.getLogger(__name__)
# What reading a payload of the wrong shape raises (a field missing, of another type, empty)
SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Refusal:
    """Why a request is not handed to Bolt: the HTTP status line and a short reason."""

    status: str
    reason: str


def admit(environ: WSGIEnvironment, *, verifier: SignatureVerifier) -> Refusal | None:
    """Check `environ`'s request; None when Bolt may have it (its body then re-readable)."""
    body = _read_body(environ)
    if isinstance(body, Refusal):
        return body
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal("400 Bad Request", "body is not UTF-8")
    refusal = _check_signature(environ, body, verifier=verifier)
    return refusal or _check_shape(text, content_type=environ.get("CONTENT_TYPE", ""))


def _read_body(environ: WSGIEnvironment) -> bytes | Refusal:
    declared = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not declared.isdigit():
        return Refusal("400 Bad Request", "Content-Length is not a number")
    length = int(declared)
    if length > MAX_BODY_BYTES:
        return Refusal("413 Content Too Large", f"body over {MAX_BODY_BYTES} bytes")
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    if len(body) != length:
        return Refusal("400 Bad Request", "body shorter than its Content-Length")
    return body


def _check_signature(
    environ: WSGIEnvironment, body: bytes, *, verifier: SignatureVerifier
) -> Refusal | None:
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal("401 Unauthorized", "X-Slack-Request-Timestamp missing or not digits")
    if not _SIGNATURE.fullmatch(signature):
        return Refusal("401 Unauthorized", "X-Slack-Signature missing or malformed")
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return Refusal("401 Unauthorized", "signature does not match, or timestamp too old")
    return None


def _check_shape(text: str, *, content_type: str) -> Refusal | None:
    if not text:
        return None
    # the same reading as Bolt's parse_body: JSON by content type or a leading brace, else a form
    # whose `payload` field (if any) is JSON
    if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        return _json_object(text, what="JSON body")
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            return _json_object(payload, what="payload")
    return None


def _json_object(text: str, *, what: str) -> Refusal | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return Refusal("400 Bad Request", f"{what} is not JSON")
    if not isinstance(value, dict):
        return Refusal("400 Bad Request", f"{what} is not a JSON object")
    return None


def answer_bolt_error(error: Exception) -> BoltResponse:
    """Bolt's error handler (`App.error`): a short answer and one log line, no traceback."""
    if isinstance(error, BoltUnhandledRequestError):
        log.warning("slack request not handled: 404 (no listener for it)")
        return BoltResponse(status=404, body="")
    detail = _detail(error)
    if isinstance(error, SHAPE_ERRORS):
        log.warning("slack request refused: 400 (payload of the wrong shape, %s)", detail)
        return BoltResponse(status=400, body="malformed payload")
    log.error("slack request failed: 500 (%s)", detail)
    return BoltResponse(status=500, body="")


def unreadable(error: Exception) -> Refusal:
    """The answer to a payload Bolt could not read (it raised before any listener ran)."""
    return Refusal("400 Bad Request", f"payload of the wrong shape, {_detail(error)}")


def _detail(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:80]}"
