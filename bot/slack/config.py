"""The Slack settings `serve` needs, checked once: every problem named in one error.

No token ever appears in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import StartupError
from bot.settings import Settings

_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class SlackSettings:
    """The Slack settings `serve` needs, checked."""

    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_url: str | None


def check_slack_settings(settings: Settings) -> SlackSettings:
    """Every problem with the Slack settings, in one StartupError; else the checked values."""
    problems = []
    bot = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    app = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not bot:
        problems.append("MESHGATE_SLACK_BOT_TOKEN is missing (the xoxb- token of the app)")
    elif not bot.startswith("xoxb-"):
        problems.append("MESHGATE_SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app and not app.startswith("xapp-"):
        problems.append("MESHGATE_SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if not app and not secret:
        problems.append(
            "MESHGATE_SLACK_SIGNING_SECRET is missing (needed over HTTP; "
            "or set MESHGATE_SLACK_APP_TOKEN for Socket Mode)"
        )
    if settings.slack_api_url and not re.match(r"^https?://", settings.slack_api_url):
        problems.append("MESHGATE_SLACK_API_URL must be an http(s) URL ending in /api/")
    if settings.alert_channel and not _CHANNEL_ID.match(settings.alert_channel):
        problems.append("MESHGATE_ALERT_CHANNEL must be a channel id like C0123ABCD")
    if settings.oncall_group and not re.match(r"^S[A-Z0-9]{2,}$", settings.oncall_group):
        problems.append("MESHGATE_ONCALL_GROUP must be a Slack user-group id like S0123ABCD")
    bad = [a for a in settings.approvers if not _SLACK_ID.match(a)]
    if bad:
        problems.append(
            "MESHGATE_APPROVERS must hold Slack user (U…/W…) or user-group (S…) ids; "
            f"not: {', '.join(a[:20] for a in bad)}"
        )
    if problems:
        raise StartupError("cannot start the Slack app:\n  - " + "\n  - ".join(problems))
    api_url = settings.slack_api_url
    if api_url and not api_url.endswith("/"):
        api_url += "/"
    return SlackSettings(
        bot_token=bot, signing_secret=secret or None, app_token=app or None, api_url=api_url
    )
