"""Logging for meshgate: text for people, JSON for log pipelines, and never a token.

`configure(fmt=..., level=...)` sets up the root logger once (MESHGATE_LOG_FORMAT `text` or
`json`, MESHGATE_LOG_LEVEL). JSON lines carry `time`, `level`, `logger`, `message`, the
`correlation_id` of the request being served (if any) and `exc_info` text. `correlation()`
scopes a correlation id to a request (the HTTP front end opens one per request, reusing the
caller's `X-Request-Id`); `current_correlation()` reads it.

Every record passes through `Redactor` before it is written, whatever the format: Slack tokens
(`xoxb-`, `xoxp-`, `xapp-`, ...), bearer tokens, passwords in URLs (`redis://:pw@host`) and
Slack signing headers are replaced by `[redacted]`, in the message, its arguments and the
traceback text. The settings keep secrets in SecretStr; this is the second line of defence.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
_CORRELATION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "meshgate_correlation", default=None
)
_REDACTED = "[redacted]"
# Slack token prefixes (api.slack.com/authentication/token-types), bearer tokens, URL passwords.
_SECRETS = (
    re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]+"),
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)\b((?:rediss?|redis\+sentinel|rediss?\+cluster|https?)://[^:/@\s]*:)[^@\s]+@"),
    re.compile(r"(?i)(x-slack-signature['\"]?\s*[:=]\s*['\"]?)v0=[0-9a-f]+"),
)
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def redact(text: str) -> str:
    """`text` with every token-looking part replaced by `[redacted]`."""
    text = _SECRETS[0].sub(_REDACTED, text)
    text = _SECRETS[1].sub(lambda m: f"{m.group(1)} {_REDACTED}", text)
    text = _SECRETS[2].sub(lambda m: f"{m.group(1)}{_REDACTED}@", text)
    return _SECRETS[3].sub(lambda m: f"{m.group(1)}{_REDACTED}", text)


class Redactor(logging.Filter):
    """Rewrites a record so no token survives: message, arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep the line
            message = f"{record.msg!s} {record.args!r}"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.correlation_id = _CORRELATION.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = getattr(record, "correlation_id", None)
        if correlation_id:
            line["correlation_id"] = correlation_id
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exc_info"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure(
    *, fmt: LogFormat = "text", level: str = "WARNING", stream: TextIO | None = None
) -> None:
    """Route every log record through the redactor to stderr (or `stream`), text or JSON."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def configure_from(environ: Mapping[str, str], *, default_level: str = "WARNING") -> None:
    """`configure` from MESHGATE_LOG_FORMAT / MESHGATE_LOG_LEVEL, before settings are checked.

    Unknown values fall back to text / the default level; the settings check names them.
    """
    fmt = environ.get("MESHGATE_LOG_FORMAT", "text")
    level = environ.get("MESHGATE_LOG_LEVEL", default_level).upper()
    configure(
        fmt="json" if fmt == "json" else "text",
        level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else default_level,
    )


@contextmanager
def correlation(correlation_id: str | None = None) -> Iterator[str]:
    """Scope a correlation id (the caller's if it is well formed, else a new one)."""
    chosen = (
        correlation_id
        if correlation_id and _CORRELATION_ID.match(correlation_id)
        else uuid.uuid4().hex[:12]
    )
    token = _CORRELATION.set(chosen)
    try:
        yield chosen
    finally:
        _CORRELATION.reset(token)


def current_correlation() -> str | None:
    """The correlation id of the request being served, if any."""
    return _CORRELATION.get()
