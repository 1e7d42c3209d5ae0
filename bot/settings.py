"""Settings from the environment (prefix MESHGATE_), validated once at start-up.

DESIGN.md, "Settings (environment)". Secrets are SecretStr so they never show in a repr, a log
line or an error. Command-line flags override the matching variables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import StartupError
from bot.state import urls as redis_urls
from workflows.playbook import Duration

DEFAULT_STATE_DIR = Path("~/.local/state/meshgate")


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

    @field_validator("approvers", mode="before")
    @classmethod
    def _split_approvers(cls, value: object) -> object:
        """`U123,S456` -> ("U123", "S456")."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

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
