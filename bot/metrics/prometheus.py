"""A client for Prometheus's HTTP API (instant and range queries) over httpx.

Why httpx and not a Prometheus client library: the one maintained Python client for the query
API, `prometheus-api-client`, pulls in pandas and numpy, returns raw JSON without typed errors,
and hides the timeout and TLS options meshgate must set; the API itself is two GET endpoints
(`/api/v1/query`, `/api/v1/query_range`) with a small JSON envelope. httpx gives per-request
timeouts, basic and bearer auth, CA and client certificates, and a typed error tree.

Errors, translated from httpx's and from Prometheus's `{"status": "error"}` answers:

    PrometheusError             a query failed; the message is short, safe to show and log
    ├── PrometheusUnavailable   cannot connect, no answer in time, 5xx, 429, not Prometheus JSON
    │   └── PrometheusTimeout   no answer within the timeout
    └── PrometheusRejected      4xx / bad_data: the query or a parameter is wrong

Tokens and passwords never appear in a message, a repr or a log line: the URL shown is the
server's without credentials, and credentials live in SecretStr.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from bot import observability
from bot.observability import Dependency
from bot.settings import Settings
from workflows.gates.istio_history import Series
from workflows.gates.istio_queries import Sample

DEFAULT_TIMEOUT = 10.0
# Prometheus refuses range queries above 11,000 points (web/api/v1/api.go, "exceeded maximum
# resolution of 11,000 points per timeseries").
MAX_POINTS = 11_000
_TRIM = 200  # characters of an error body kept in a message


class PrometheusError(Exception):
    """A Prometheus query failed; the message says what and where, without credentials."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached or answered with a server error; try again later."""


class PrometheusTimeout(PrometheusUnavailable):
    """Prometheus gave no answer within the timeout."""


class PrometheusRejected(PrometheusError):
    """Prometheus rejected the request (a bad query or parameter); retrying will not help."""


def config_from(settings: Settings, *, url: str | None = None) -> PrometheusConfig:
    """The client's configuration from MESHGATE_PROMETHEUS_* (`url` overrides the setting).

    ValueError when no URL is set, or a setting is wrong; the message says what to do.
    """
    chosen = url or settings.prometheus_url
    if not chosen:
        raise ValueError(
            "no Prometheus to ask: pass --prometheus-url URL or set MESHGATE_PROMETHEUS_URL"
        )
    return PrometheusConfig(
        url=chosen,
        timeout=settings.prometheus_timeout,
        username=settings.prometheus_username,
        password=settings.prometheus_password,
        bearer_token=settings.prometheus_bearer_token,
        ca_file=settings.prometheus_ca_file,
        insecure_skip_verify=settings.prometheus_insecure_skip_verify,
    )


@dataclass(frozen=True)
class PrometheusConfig:
    """Where Prometheus is and how to talk to it.

    `url` may carry `user:password@`; they become basic auth and are dropped from the URL.
    `ca_file` verifies the server against a private CA; `insecure_skip_verify` turns
    verification off (a test cluster only); `client_cert`/`client_key` for mutual TLS.
    """

    url: str
    timeout: float = DEFAULT_TIMEOUT
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    client_cert: str | None = None
    client_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"Prometheus URL must be http(s)://HOST[:PORT][/PATH], got {_safe_url(self.url)!r}"
            )
        if self.timeout <= 0:
            raise ValueError("the Prometheus timeout must be a positive number of seconds")
        if self.bearer_token is not None and (self.username or self.password or parts.username):
            raise ValueError("use basic auth or a bearer token for Prometheus, not both")


class PrometheusClient:
    """Instant and range queries against one Prometheus server."""

    def __init__(self, config: PrometheusConfig, *, transport: httpx.BaseTransport | None = None):
        parts = urlsplit(config.url)
        username = config.username or (parts.username or None)
        password = config.password or (SecretStr(parts.password) if parts.password else None)
        self.base_url = _safe_url(config.url).rstrip("/")
        auth: httpx.Auth | None = None
        headers = dict(config.headers)
        if config.bearer_token is not None:
            headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
        elif username is not None:
            auth = httpx.BasicAuth(username, password.get_secret_value() if password else "")
        verify: ssl.SSLContext | bool = True
        if config.ca_file or config.insecure_skip_verify or config.client_cert:
            verify = ssl.create_default_context(cafile=config.ca_file)
            if config.insecure_skip_verify:
                verify.check_hostname = False
                verify.verify_mode = ssl.CERT_NONE
            if config.client_cert:
                verify.load_cert_chain(config.client_cert, config.client_key)
        self.timeout = config.timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(config.timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"PrometheusClient({self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def instant(self, query: str, *, at: datetime) -> list[Sample]:
        """Evaluate `query` at `at`: one Sample per series (a scalar is one unlabelled Sample)."""
        data = self._get("/api/v1/query", {"query": query, "time": _unix(at)})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector" and isinstance(result, list):
            return [Sample(labels=dict(r["metric"]), value=_float(r["value"][1])) for r in result]
        if kind == "scalar" and isinstance(result, list):
            return [Sample(labels={}, value=_float(result[1]))]
        raise PrometheusUnavailable(
            f"Prometheus at {self.base_url} answered an instant query with {kind!r}, "
            "expected a vector or a scalar"
        )

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        """Evaluate `query` at every `step` from `start` to `end`."""
        seconds = step.total_seconds()
        if seconds <= 0 or end < start:
            raise PrometheusRejected("a range query needs start <= end and a positive step")
        if (end - start).total_seconds() / seconds > MAX_POINTS:
            raise PrometheusRejected(
                f"a range query of more than {MAX_POINTS} points; use a larger step"
            )
        data = self._get(
            "/api/v1/query_range",
            {"query": query, "start": _unix(start), "end": _unix(end), "step": f"{seconds:g}"},
        )
        if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} answered a range query without a matrix"
            )
        return [
            Series(
                labels=dict(r["metric"]),
                points=tuple(
                    (datetime.fromtimestamp(float(t), tz=UTC), _float(v)) for t, v in r["values"]
                ),
            )
            for r in data["result"]
        ]

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The `data` of a successful answer; a failure is counted, then raised."""
        try:
            return self._data(path, params)
        except PrometheusError as e:
            observability.dependency_error(Dependency.PROMETHEUS, e)
            raise

    def _data(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            response = self._http.get(path, params=dict(params))
        except httpx.TimeoutException as e:
            raise PrometheusTimeout(
                f"Prometheus at {self.base_url} did not answer within {self.timeout:g} s"
            ) from e
        except httpx.HTTPError as e:
            raise PrometheusUnavailable(
                f"cannot reach Prometheus at {self.base_url}: {type(e).__name__}"
            ) from e
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if isinstance(body, dict) and body.get("status") == "success":
            data = body.get("data")
            if isinstance(data, dict):
                return data
        what = (
            f"{body.get('errorType', 'error')}: {str(body.get('error', ''))[:_TRIM]}"
            if isinstance(body, dict) and body.get("status") == "error"
            else f"HTTP {status} {response.reason_phrase}".strip()
        )
        if status in (401, 403):
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} refused meshgate's credentials (HTTP {status}); "
                "check the username/password or bearer token"
            )
        if 400 <= status < 500 and status != 429:
            raise PrometheusRejected(f"Prometheus at {self.base_url} rejected the query: {what}")
        raise PrometheusUnavailable(f"Prometheus at {self.base_url} answered {what}")


def _safe_url(url: str) -> str:
    """The URL without `user:password@`, query or fragment: safe to show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _unix(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise PrometheusRejected("query times must be timezone-aware")
    return f"{moment.timestamp():.3f}"


def _float(value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        return math.nan
    return number
