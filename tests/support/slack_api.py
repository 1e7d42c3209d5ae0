"""A Slack Web API stand-in for tests, spoken to over real HTTP by slack_sdk's WebClient.

The Bolt app in `bot/slack/` talks to Slack through slack_sdk; tests point its WebClient at this
server (`WebClient(token=..., base_url=stand_in.base_url)`, or `MESHGATE_SLACK_API_URL`) instead
of mocking it (DESIGN.md, "Real parts in tests").

What it does:

- serves `POST|GET /api/{method}` with JSON, form-encoded, multipart or query-string arguments
  (slack_sdk sends JSON for chat.* and views.*, a form for most others, multipart for uploads),
  and reads the token from `Authorization: Bearer ...` (or a `token` argument);
- checks the method against the Web API OpenAPI spec in tests/reference/slack and that
  every argument the spec marks required is there; an unknown method is answered
  `unknown_method`, a missing argument `invalid_arguments`, a missing token `not_authed`, and
  each is recorded in `violations` (the fixture fails the test if any is left at teardown);
- records every call (`calls`, `calls_to(method)`);
- answers like Slack, keeping state: messages per channel (post, update, delete, history,
  replies, permalinks), ephemeral messages, App Home views with `hash` conflicts, modals, user
  groups, users, channels, the three-step file upload (`files.getUploadURLExternal`, the upload
  URL, `files.completeUploadExternal`), `apps.connections.open` (the Socket Mode server's URL),
  and response URLs (`response_url(...)`) that honour `replace_original` / `delete_original`;
  any other method of the spec answers `{"ok": true}`;
- rate-limits on demand: `rate_limit(method, times, retry_after)` makes the next calls answer
  HTTP 429 with `Retry-After`, as Slack does;
- answers slowly on demand: `answer_slowly(seconds)` holds every request (Web API, response
  URL, upload) that long before answering; `answer_promptly()` releases those held at once;
- fails on demand: `fail(method, times, status)` answers the next calls of a method with an
  HTTP error (500 by default: Slack's own outage) and does nothing, until `recover()`;

Approximations, each on purpose: channels and users need not be declared (unknown ones are
made up) unless `strict_channels` is set; argument types and values beyond presence are not
checked, except the few Slack rejects in ways an app must handle (`no_text`,
`message_not_found`, `hash_conflict`, `no_such_subteam`, `user_not_found`); timestamps are a
counter, not the clock; the spec's `required` flags are trusted as they are.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from tests.support import reference

SPEC_PATH = reference.SLACK / "slack_web_openapi_v2.json"

# Methods slack_sdk calls that the OpenAPI spec (an old snapshot) lacks, with the arguments
# Slack's method reference (docs.slack.dev/reference/methods/...) marks required.
EXTRA_METHODS: Mapping[str, frozenset[str]] = {
    "files.getUploadURLExternal": frozenset({"filename", "length"}),
    "files.completeUploadExternal": frozenset({"files"}),
    "apps.connections.open": frozenset(),
}

# The first message timestamp; later ones count up by 100 microseconds, like Slack's
# "1700000000.000100" seconds.microseconds strings, unique and increasing within a channel.
_TS_EPOCH = 1_700_000_000
_TS_STEP_US = 100

Args = dict[str, Any]


@functools.cache
def spec_methods(path: Path = SPEC_PATH) -> Mapping[str, frozenset[str]]:
    """Method name -> the arguments the spec marks required (the token aside)."""
    spec = json.loads(path.read_text())
    methods: dict[str, frozenset[str]] = {}
    for route, operations in spec["paths"].items():
        required: set[str] = set()
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("required") and parameter["name"] != "token":
                    required.add(parameter["name"])
        methods[route.lstrip("/")] = frozenset(required)
    return {**methods, **EXTRA_METHODS}


@dataclass(frozen=True)
class Call:
    """One request to the API: the method, its arguments, its headers (lower-case names)."""

    method: str
    args: Args
    headers: dict[str, str]
    token: str | None = None
    status: int = 200  # 429 when the stand-in rate-limited it, 5xx when told to fail it
    response: Args = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived (Retry-After checks)


@dataclass(frozen=True)
class Violation:
    """A request Slack would reject as malformed: the app, not the user, is at fault."""

    method: str
    error: str
    detail: str

    def __str__(self) -> str:
        return f"{self.method}: {self.error} ({self.detail})"


@dataclass(frozen=True)
class ResponsePost:
    """A POST to a response URL: where it came from and what the app sent."""

    channel: str
    message_ts: str | None
    user_id: str
    body: Args


@dataclass
class _RateLimit:
    remaining: int
    retry_after: int


@dataclass
class _Failure:
    remaining: int
    status: int


@dataclass
class _ResponseUrl:
    channel: str
    message_ts: str | None
    user_id: str


class SlackWebStandIn:
    """A Slack workspace's Web API on a free loopback port. Thread-safe."""

    def __init__(
        self,
        *,
        team_id: str = "T111",
        team_domain: str = "meshgate-test",
        bot_user_id: str = "U0MESHGATE",
        bot_id: str = "B0MESHGATE",
        app_id: str = "A111",
        usergroups: Mapping[str, Collection[str]] | None = None,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        strict_channels: bool = False,
        accepted_tokens: Collection[str] | None = None,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.strict_channels = strict_channels
        self.accepted_tokens = frozenset(accepted_tokens) if accepted_tokens is not None else None
        self.socket_mode_url: str | None = None
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.ephemerals: list[Args] = []
        self.opened_views: list[Args] = []
        self.response_posts: list[ResponsePost] = []
        self.files: dict[str, Args] = {}
        self._methods = spec_methods(spec_path)
        self._usergroups: dict[str, list[str]] = {
            group: list(members) for group, members in (usergroups or {}).items()
        }
        self._users: dict[str, Args] = {uid: dict(info) for uid, info in (users or {}).items()}
        self._channels: dict[str, Args] = {
            cid: dict(info) for cid, info in (channels or {}).items()
        }
        self._messages: dict[str, dict[str, Args]] = {}
        self._home_views: dict[str, Args] = {}
        self._views: dict[str, Args] = {}
        self._rate_limits: dict[str, _RateLimit] = {}
        self._failures: dict[str, _Failure] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._ts_counter = 0
        self._id_counter = 0
        self._lock = threading.RLock()
        self._delay = 0.0
        self._prompt = threading.Event()  # set: answer at once; clear: hold for `_delay`
        self._prompt.set()
        self.held = 0  # requests being held by answer_slowly right now
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> SlackWebStandIn:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        stand_in = self

        class Handler(_Handler):
            owner = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-web-stand-in",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; waits for requests in flight."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> SlackWebStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`."""
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as WebClient's `base_url` (with the trailing slash slack_sdk expects)."""
        return f"{self.origin}/api/"

    # -- configuration ---------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        with self._lock:
            self._rate_limits[method] = _RateLimit(times, retry_after)

    def fail(self, method: str, *, times: int = 1, status: int = 500) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (Slack's edge failing).

        The body is what Slack sends with a 5xx, `{"ok": false, "error": "fatal_error"}`; the
        call is recorded with that status and changes nothing.
        """
        with self._lock:
            self._failures[method] = _Failure(times, status)

    def recover(self) -> None:
        """Stop failing: every method answers normally again."""
        with self._lock:
            self._failures.clear()

    def answer_slowly(self, seconds: float) -> None:
        """Hold every request `seconds` before answering it (a slow or hanging Slack)."""
        with self._lock:
            self._delay = seconds
            self._prompt.clear()

    def answer_promptly(self) -> None:
        """Answer at once again, releasing the requests being held."""
        with self._lock:
            self._delay = 0.0
            self._prompt.set()

    def hold(self) -> None:
        """Called by the handler before answering: wait out the delay, if any."""
        with self._lock:
            delay = self._delay
            if not delay:
                return
            self.held += 1
            self._changed.notify_all()
        try:
            self._prompt.wait(delay)
        finally:
            with self._lock:
                self.held -= 1
                self._changed.notify_all()

    def wait_held(self, count: int, *, timeout: float = 5.0) -> bool:
        """Wait until `count` requests are being held; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held >= count, timeout=timeout)

    def set_usergroup(self, group_id: str, user_ids: Collection[str]) -> None:
        """Create or replace a user group's members."""
        with self._lock:
            self._usergroups[group_id] = list(user_ids)

    def add_user(self, user_id: str, *, name: str | None = None, **extra: Any) -> None:
        """Declare a user that users.info will describe (extra keys go into the user object)."""
        with self._lock:
            self._users[user_id] = {"name": name or user_id.lower(), **extra}

    def add_channel(self, channel_id: str, *, name: str, **extra: Any) -> None:
        """Declare a channel that conversations.info will describe."""
        with self._lock:
            self._channels[channel_id] = {"name": name, **extra}

    def response_url(self, *, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """A response URL for a slash command (no `message_ts`) or a message's block action.

        POSTs to it are recorded in `response_posts`; `replace_original` / `delete_original`
        act on the message at `message_ts`, `response_type: in_channel` posts a message, and
        anything else is an ephemeral message to `user_id`, as Slack does.
        """
        with self._lock:
            key = self._new_id("R")
            self._response_urls[key] = _ResponseUrl(channel_id, message_ts, user_id)
        return f"{self.origin}/response/{self.team_id}/{key}"

    # -- reading what happened ---------------------------------------------------------------

    def calls_to(self, method: str) -> list[Args]:
        """Arguments of each call of `method` that Slack processed (rate-limited ones aside)."""
        with self._lock:
            return [c.args for c in self.calls if c.method == method and c.status == 200]

    def wait_for_calls(self, method: str, *, count: int = 1, timeout: float = 5.0) -> list[Args]:
        """Block until `method` was processed `count` times (Bolt works after its ack)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := self.calls_to(method)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{method} called {len(found)} times, not {count}")
                self._changed.wait(left)
            return found

    def wait_for_response_posts(
        self, *, count: int = 1, timeout: float = 5.0
    ) -> list[ResponsePost]:
        """Block until `count` POSTs reached response URLs."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.response_posts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.response_posts)} response URL posts, not {count}"
                    )
                self._changed.wait(left)
            return list(self.response_posts)

    def take_violations(self) -> list[Violation]:
        """The violations so far, cleared: for tests that provoke one on purpose."""
        with self._lock:
            taken = list(self.violations)
            self.violations.clear()
            return taken

    def message(self, channel: str, ts: str) -> Args:
        """The message at `ts` as last posted or updated (`text`, `blocks`, `ts`, ...)."""
        with self._lock:
            try:
                return copy.deepcopy(self._messages[channel][ts])
            except KeyError:
                raise KeyError(f"no message {ts} in {channel}") from None

    def messages(self, channel: str) -> list[Args]:
        """Every message of a channel, threads included, oldest first."""
        with self._lock:
            stored = self._messages.get(channel, {})
            return [copy.deepcopy(stored[ts]) for ts in sorted(stored, key=_ts_key)]

    def replies(self, channel: str, thread_ts: str) -> list[Args]:
        """The replies in the thread of `thread_ts`, oldest first (the parent excluded)."""
        return [
            m
            for m in self.messages(channel)
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    def home_view(self, user_id: str) -> Args | None:
        """The App Home view last published for a user."""
        with self._lock:
            view = self._home_views.get(user_id)
            return copy.deepcopy(view) if view is not None else None

    # -- request handling --------------------------------------------------------------------

    def handle_api(
        self, method: str, args: Args, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Args]:
        """Answer one Web API request: (HTTP status, extra headers, JSON body)."""
        token = _bearer(headers.get("authorization")) or _pop_str(args, "token")
        with self._lock:
            limit = self._rate_limits.get(method)
            if limit is not None and limit.remaining > 0:
                limit.remaining -= 1
                body: Args = {"ok": False, "error": "ratelimited"}
                self.calls.append(Call(method, args, headers, token, 429, body))
                self._changed.notify_all()
                return 429, {"Retry-After": str(limit.retry_after)}, body
            failure = self._failures.get(method)
            if failure is not None and failure.remaining > 0:
                failure.remaining -= 1
                body = {"ok": False, "error": "fatal_error"}
                self.calls.append(Call(method, args, headers, token, failure.status, body))
                self._changed.notify_all()
                return failure.status, {}, body
            body = self._answer(method, args, token)
            self.calls.append(Call(method, args, headers, token, 200, body))
            self._changed.notify_all()
            return 200, {}, body

    def _answer(self, method: str, args: Args, token: str | None) -> Args:
        if method not in self._methods:
            return self._violate(method, "unknown_method", "not in the Web API spec")
        if not token:
            return self._violate(method, "not_authed", "no token in Authorization or arguments")
        if self.accepted_tokens is not None and token not in self.accepted_tokens:
            return {"ok": False, "error": "invalid_auth"}
        missing = sorted(name for name in self._methods[method] if _absent(args.get(name)))
        if missing:
            return self._violate(method, "invalid_arguments", f"missing {', '.join(missing)}")
        answer = _ANSWERS.get(method)
        if answer is None:
            return {"ok": True}
        return answer(self, args, token)

    def _violate(self, method: str, error: str, detail: str) -> Args:
        self.violations.append(Violation(method, error, detail))
        return {"ok": False, "error": error}

    def handle_response_url(self, key: str, body: Args) -> tuple[int, Args]:
        """Act on a POST to a response URL as Slack does."""
        with self._lock:
            target = self._response_urls.get(key)
            if target is None:
                return 404, {"ok": False, "error": "expired_url"}
            self.response_posts.append(
                ResponsePost(target.channel, target.message_ts, target.user_id, body)
            )
            self._changed.notify_all()
            content = _message_content(body)
            if _truthy(body.get("delete_original")):
                if target.message_ts is None or not self._delete(target.channel, target.message_ts):
                    return 404, {"ok": False, "error": "message_not_found"}
            elif _truthy(body.get("replace_original")) and target.message_ts is not None:
                if not self._update(target.channel, target.message_ts, content):
                    return 404, {"ok": False, "error": "message_not_found"}
            elif body.get("response_type") == "in_channel":
                self._post(target.channel, content, thread_ts=body.get("thread_ts"))
            else:
                self.ephemerals.append(
                    {"channel": target.channel, "user": target.user_id, **content}
                )
            return 200, {"ok": True}

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """Receive a file's bytes at the URL files.getUploadURLExternal gave out."""
        with self._lock:
            record = self.files.get(file_id)
            if record is None:
                return 404, "file not found"
            record["content"] = data
            if len(data) != record["length"]:
                self.violations.append(
                    Violation(
                        "files.upload",
                        "length_mismatch",
                        f"{file_id}: declared {record['length']}, sent {len(data)}",
                    )
                )
            return 200, f"OK - {len(data)}"

    # -- state changes (called with the lock held) -------------------------------------------

    def _new_ts(self) -> str:
        self._ts_counter += _TS_STEP_US
        seconds, micros = divmod(self._ts_counter, 1_000_000)
        return f"{_TS_EPOCH + seconds}.{micros:06d}"

    def _new_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:08d}"

    def _channel_known(self, channel: str) -> bool:
        return not self.strict_channels or channel in self._channels

    def _post(self, channel: str, content: Args, *, thread_ts: Any = None) -> Args:
        ts = self._new_ts()
        message: Args = {
            "type": "message",
            "subtype": "bot_message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": "",
            **content,
        }
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        self._messages.setdefault(channel, {})[ts] = message
        return message

    def _update(self, channel: str, ts: str, content: Args) -> Args | None:
        message = self._messages.get(channel, {}).get(ts)
        if message is None:
            return None
        # chat.update keeps blocks and attachments that the call leaves out (Slack's reference).
        message.update(content)
        message["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}
        return message

    def _delete(self, channel: str, ts: str) -> bool:
        return self._messages.get(channel, {}).pop(ts, None) is not None

    def _store_view(self, view: Args, *, user_id: str | None = None) -> Args:
        view_id = view.get("id") or self._new_id("V")
        stored: Args = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "external_id": "",
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            "previous_view_id": None,
            "root_view_id": view_id,
            **{k: v for k, v in view.items() if k not in {"id", "hash"}},
            "hash": f"{_TS_EPOCH + self._id_counter}.{self._new_id('h')}",
        }
        if user_id is not None:
            stored["user_id"] = user_id
        self._views[view_id] = stored
        return stored


# -- answers per method -------------------------------------------------------------------------


def _auth_test(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    return {
        "ok": True,
        "url": f"https://{s.team_domain}.slack.com/",
        "team": s.team_domain,
        "user": "meshgate",
        "team_id": s.team_id,
        "user_id": s.bot_user_id,
        "bot_id": s.bot_id,
        "is_enterprise_install": False,
    }


def _chat_post_message(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel = str(args["channel"])
    if not s._channel_known(channel):
        return {"ok": False, "error": "channel_not_found"}
    content = _message_content(args)
    if not any(content.get(k) for k in ("text", "blocks", "attachments")):
        return s._violate("chat.postMessage", "no_text", "no text, blocks or attachments")
    thread_ts = args.get("thread_ts")
    if thread_ts and str(thread_ts) not in s._messages.get(channel, {}):
        return {"ok": False, "error": "thread_not_found"}
    message = s._post(channel, content, thread_ts=thread_ts)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}


def _chat_update(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel, ts = str(args["channel"]), str(args["ts"])
    content = _message_content(args)
    if not any(k in content for k in ("text", "blocks", "attachments")):
        return s._violate("chat.update", "no_text", "no text, blocks or attachments")
    message = s._update(channel, ts, content)
    if message is None:
        return {"ok": False, "error": "message_not_found"}
    return {
        "ok": True,
        "channel": channel,
        "ts": ts,
        "text": message.get("text", ""),
        "message": copy.deepcopy(message),
    }


def _chat_delete(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel, ts = str(args["channel"]), str(args["ts"])
    if not s._delete(channel, ts):
        return {"ok": False, "error": "message_not_found"}
    return {"ok": True, "channel": channel, "ts": ts}


def _chat_post_ephemeral(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel = str(args["channel"])
    if not s._channel_known(channel):
        return {"ok": False, "error": "channel_not_found"}
    content = _message_content(args)
    if not any(content.get(k) for k in ("text", "blocks", "attachments")):
        return s._violate("chat.postEphemeral", "no_text", "no text, blocks or attachments")
    ts = s._new_ts()
    s.ephemerals.append({"channel": channel, "user": str(args["user"]), "ts": ts, **content})
    return {"ok": True, "message_ts": ts}


def _chat_get_permalink(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel, ts = str(args["channel"]), str(args["message_ts"])
    if ts not in s._messages.get(channel, {}):
        return {"ok": False, "error": "message_not_found"}
    return {
        "ok": True,
        "channel": channel,
        "permalink": f"https://{s.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
    }


def _conversations_history(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel = str(args.get("channel", ""))
    top = [m for m in s.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]
    return {"ok": True, "messages": list(reversed(top)), "has_more": False}


def _conversations_replies(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
    try:
        parent = s.message(channel, ts)
    except KeyError:
        return {"ok": False, "error": "thread_not_found"}
    return {"ok": True, "messages": [parent, *s.replies(channel, ts)], "has_more": False}


def _conversations_info(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    channel = str(args.get("channel", ""))
    if channel not in s._channels and s.strict_channels:
        return {"ok": False, "error": "channel_not_found"}
    declared = s._channels.get(channel, {})
    info: Args = {
        "id": channel,
        "name": declared.get("name", channel.lower()),
        "is_channel": channel.startswith("C"),
        "is_group": channel.startswith("G"),
        "is_im": channel.startswith("D"),
        "is_private": channel.startswith("G"),
        "is_archived": False,
        "is_member": True,
        "created": _TS_EPOCH,
        "creator": s.bot_user_id,
        "context_team_id": s.team_id,
        **declared,
    }
    return {"ok": True, "channel": info}


def _views_publish(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    user_id = str(args["user_id"])
    view = _json_object(args["view"])
    if view is None:
        return s._violate("views.publish", "invalid_arguments", "view is not a JSON object")
    current = s._home_views.get(user_id)
    wanted_hash = args.get("hash")
    if wanted_hash and (current is None or current["hash"] != wanted_hash):
        return {"ok": False, "error": "hash_conflict"}
    if current is not None:
        view = {**view, "id": current["id"]}
    stored = s._store_view({"type": "home", **view}, user_id=user_id)
    s._home_views[user_id] = stored
    return {"ok": True, "view": copy.deepcopy(stored)}


def _views_open(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    view = _json_object(args["view"])
    if view is None:
        return s._violate("views.open", "invalid_arguments", "view is not a JSON object")
    stored = s._store_view(view)
    s.opened_views.append(copy.deepcopy(stored))
    return {"ok": True, "view": copy.deepcopy(stored)}


def _views_update(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    view = _json_object(args.get("view"))
    if view is None:
        return s._violate("views.update", "invalid_arguments", "view is not a JSON object")
    view_id = args.get("view_id")
    if not view_id:
        external = args.get("external_id")
        view_id = next(
            (v["id"] for v in s._views.values() if external and v.get("external_id") == external),
            None,
        )
    current = s._views.get(str(view_id)) if view_id else None
    if current is None:
        return {"ok": False, "error": "not_found"}
    wanted_hash = args.get("hash")
    if wanted_hash and current["hash"] != wanted_hash:
        return {"ok": False, "error": "hash_conflict"}
    stored = s._store_view({**view, "id": current["id"], "type": current["type"]})
    return {"ok": True, "view": copy.deepcopy(stored)}


def _usergroups_users_list(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    group = str(args["usergroup"])
    if group not in s._usergroups:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": list(s._usergroups[group])}


def _users_info(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    user_id = str(args.get("user", ""))
    declared = s._users.get(user_id)
    if declared is None:
        return {"ok": False, "error": "user_not_found"}
    name = str(declared.get("name", user_id.lower()))
    real_name = str(declared.get("real_name", name))
    user: Args = {
        "id": user_id,
        "team_id": s.team_id,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": "Europe/Berlin",
        "tz_offset": 3600,
        "is_admin": False,
        "is_owner": False,
        "is_bot": False,
        "is_app_user": False,
        "profile": {"real_name": real_name, "display_name": name, "team": s.team_id},
        **declared,
    }
    return {"ok": True, "user": user}


def _apps_connections_open(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    if not (token or "").startswith("xapp-"):
        return s._violate(
            "apps.connections.open", "not_allowed_token_type", "needs an app-level xapp- token"
        )
    if s.socket_mode_url is None:
        return {"ok": False, "error": "socket_mode_not_configured_in_stand_in"}
    return {"ok": True, "url": s.socket_mode_url}


def _files_get_upload_url_external(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    try:
        length = int(args["length"])
    except ValueError:
        return s._violate("files.getUploadURLExternal", "invalid_arguments", "length")
    file_id = s._new_id("F")
    s.files[file_id] = {
        "id": file_id,
        "name": str(args["filename"]),
        "title": str(args["filename"]),
        "length": length,
        "content": None,
        "shared": False,
    }
    return {"ok": True, "upload_url": f"{s.origin}/upload/v1/{file_id}", "file_id": file_id}


def _files_complete_upload_external(s: SlackWebStandIn, args: Args, token: str | None) -> Args:
    files = _json_value(args["files"])
    if not isinstance(files, list) or not files:
        return s._violate("files.completeUploadExternal", "invalid_arguments", "files")
    done: list[Args] = []
    for item in files:
        record = s.files.get(str(item.get("id"))) if isinstance(item, dict) else None
        if record is None or record["content"] is None:
            return {"ok": False, "error": "file_not_found"}
        if item.get("title"):
            record["title"] = item["title"]
        channel = args.get("channel_id") or args.get("channels")
        record.update(
            shared=bool(channel),
            channels=str(channel).split(",") if channel else [],
            initial_comment=args.get("initial_comment"),
            thread_ts=args.get("thread_ts"),
        )
        done.append(
            {k: v for k, v in record.items() if k != "content"} | {"size": record["length"]}
        )
    return {"ok": True, "files": done}


_ANSWERS: dict[str, Callable[[SlackWebStandIn, Args, str | None], Args]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.delete": _chat_delete,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.getPermalink": _chat_get_permalink,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
    "conversations.info": _conversations_info,
    "views.publish": _views_publish,
    "views.open": _views_open,
    "views.push": _views_open,
    "views.update": _views_update,
    "usergroups.users.list": _usergroups_users_list,
    "users.info": _users_info,
    "apps.connections.open": _apps_connections_open,
    "files.getUploadURLExternal": _files_get_upload_url_external,
    "files.completeUploadExternal": _files_complete_upload_external,
}


# -- HTTP ----------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    owner: SlackWebStandIn
    server_version = "SlackWebStandIn/1"

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `calls`, not stderr."""

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = url.path.strip("/").split("/")
        self.owner.hold()
        if len(parts) == 2 and parts[0] == "api":
            args = _query_args(url.query)
            try:
                args.update(_body_args(raw, headers.get("content-type", "")))
            except ValueError as e:
                self._reply_json(400, {"ok": False, "error": "invalid_json", "detail": str(e)})
                return
            status, extra, body = self.owner.handle_api(parts[1], args, headers)
            self._reply_json(status, body, extra)
        elif len(parts) == 3 and parts[0] == "response":
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                self._reply_json(400, {"ok": False, "error": "invalid_payload"})
                return
            status, body = self.owner.handle_response_url(parts[2], payload)
            self._reply_json(status, body)
        elif len(parts) == 3 and parts[:2] == ["upload", "v1"]:
            status, text = self.owner.handle_upload(parts[2], raw)
            self._reply(status, text.encode(), "text/plain; charset=utf-8")
        else:
            self._reply_json(404, {"ok": False, "error": "not_found"})

    def _reply_json(self, status: int, body: Args, extra: Mapping[str, str] | None = None) -> None:
        self._reply(status, json.dumps(body).encode(), "application/json; charset=utf-8", extra)

    def _reply(
        self,
        status: int,
        data: bytes,
        content_type: str,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# -- argument decoding ---------------------------------------------------------------------------


def _query_args(query: str) -> Args:
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _body_args(raw: bytes, content_type: str) -> Args:
    """Arguments from a JSON, form or multipart body (files as bytes)."""
    if not raw:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        decoded = json.loads(raw)
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body is not an object")
        return cast(Args, decoded)
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
        args: Args = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                args[name] = payload if part.get_filename() else payload.decode()
        return args
    return _query_args(raw.decode())


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


def _pop_str(args: Args, name: str) -> str | None:
    value = args.pop(name, None)
    return str(value) if value else None


def _absent(value: Any) -> bool:
    return value is None or value == ""


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"true", "1"}


def _json_value(value: Any) -> Any:
    """A JSON argument: form bodies carry it as a string, JSON bodies as the value itself."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _json_object(value: Any) -> Args | None:
    decoded = _json_value(value)
    return cast(Args, decoded) if isinstance(decoded, dict) else None


def _message_content(args: Mapping[str, Any]) -> Args:
    """The parts of a message a call sets: text, blocks, attachments, metadata."""
    content: Args = {}
    if "text" in args:
        content["text"] = "" if args["text"] is None else str(args["text"])
    for name in ("blocks", "attachments", "metadata"):
        if name in args:
            content[name] = _json_value(args[name])
    return content


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)
