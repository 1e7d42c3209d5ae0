"""Settings from the environment (prefix MESHGATE_), validated once at start-up.

DESIGN.md, "Settings (environment)". Secrets are SecretStr so they never show in a repr, a log
line or an error. Command-line flags override the matching variables.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import StartupError
from bot.state import urls as redis_urls
from workflows.playbook import Duration, parse_duration

DEFAULT_STATE_DIR = Path("~/.local/state/meshgate")
# RFC 1123 label: what Kubernetes accepts as a namespace name.
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Settings(BaseSettings):
    """Every MESHGATE_ variable, typed."""

    model_config = SettingsConfigDict(env_prefix="MESHGATE_", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    slash_command: str = Field(default="/rollout", pattern=r"^/[a-z0-9_-]{1,31}$")
    alert_channel: str | None = None
    approvers: Annotated[tuple[str, ...], NoDecode] = ()
    playbook: Path | None = None
    redis_url: str | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    kube_context: str | None = None
    prometheus_url: str | None = None
    # how long after a phase's change its before/after metrics comparison is posted
    metrics_compare_after: Duration = timedelta(minutes=15)
    prometheus_timeout: float = Field(default=10.0, gt=0)
    prometheus_username: str | None = None
    prometheus_password: SecretStr | None = None
    prometheus_bearer_token: SecretStr | None = None
    prometheus_ca_file: str | None = None
    prometheus_insecure_skip_verify: bool = False
    # Namespaces whose Secrets the certificate checks list (the ingress gateways'); `*`: all.
    secret_namespaces: Annotated[tuple[str, ...], NoDecode] = ("istio-system",)
    # Never write to the cluster (deploy/overlays/read-only grants no writes; GitOps): requests
    # carry the change as YAML to commit, and phases wait in `verifying` for it to appear.
    read_only: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    # The regression watch (issue 11): how often it sweeps, when it calls itself blind, when an
    # unacknowledged alert mentions the on-call user group (`off`: never).
    watch_interval: Duration = Field(default=timedelta(seconds=60))
    watch_blind_after: int = Field(default=3, ge=1, le=100)
    watch_escalate_after: Annotated[timedelta | None, NoDecode] = timedelta(minutes=30)
    oncall_group: str | None = None

    @field_validator("approvers", "secret_namespaces", mode="before")
    @classmethod
    def _split_approvers(cls, value: object) -> object:
        """`U123,S456` -> ("U123", "S456") (approvers; the same for namespaces)."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("secret_namespaces")
    @classmethod
    def _some_namespace(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one namespace (or * for all)")
        bad = [ns for ns in value if ns != "*" and not _NAMESPACE.match(ns)]
        if bad:
            raise ValueError(f"not a namespace name: {', '.join(b[:63] for b in bad)}")
        return value

    @field_validator("watch_interval")
    @classmethod
    def _sensible_interval(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=10) <= value <= timedelta(hours=24):
            raise ValueError("a watch interval between 10s and 24h, e.g. 60s or 5m")
        return value

    @field_validator("watch_escalate_after", mode="before")
    @classmethod
    def _escalation(cls, value: object) -> object:
        """`30m`, `2h`; `off` (or empty) never escalates."""
        if isinstance(value, str) and value.strip().lower() in ("", "off", "never", "0"):
            return None
        return parse_duration(value)

    @field_validator("redis_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            redis_urls.check(value)
        return value


def load() -> Settings:
    """Settings from the environment; StartupError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"MESHGATE_{'_'.join(str(p) for p in err['loc']).upper()}: "
            + str(err["msg"]).removeprefix("Value error, ")
            for err in e.errors()
        )
        raise StartupError(f"invalid settings: {problems}") from e
