"""Settings from the environment (prefix MESHGATE_), validated once at start-up.

DESIGN.md, "Settings (environment)". Secrets are SecretStr so they never show in a repr, a log
line or an error. Command-line flags override the matching variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import StartupError
from bot.state import urls as redis_urls

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
    # GitOps: meshgate never writes to the cluster; requests carry the change as YAML to
    # commit, and phases wait in `verifying` for it to appear
    read_only: bool = False

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
