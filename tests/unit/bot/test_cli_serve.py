"""`meshgate serve` start-up checks: every bad Slack setting named at once, no token shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MESHGATE = str(Path(sys.executable).with_name("meshgate"))


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_")}
    return subprocess.run(
        [MESHGATE, "serve", "--demo", "--port", "0"],
        capture_output=True,
        text=True,
        env={**clean, "MESHGATE_STATE_DIR": str(tmp_path), **env},
        timeout=60,
        check=False,
    )


def test_nothing_set_names_the_two_settings_http_needs(tmp_path: Path) -> None:
    done = serve(tmp_path)
    assert done.returncode == 2
    assert "MESHGATE_SLACK_BOT_TOKEN is missing" in done.stderr
    assert "MESHGATE_SLACK_SIGNING_SECRET is missing" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MESHGATE_SLACK_BOT_TOKEN": "xoxp-user-token-secret"}, "starting with xoxb-"),
        ({"MESHGATE_SLACK_APP_TOKEN": "xoxb-wrong-kind-secret"}, "starting with xapp-"),
        ({"MESHGATE_ALERT_CHANNEL": "#general"}, "channel id like C0123ABCD"),
        ({"MESHGATE_APPROVERS": "UBOB,alice"}, "not: alice"),
        ({"MESHGATE_SLACK_API_URL": "ftp://x"}, "http(s) URL"),
    ],
    ids=["user-token", "app-token", "channel-name", "approver-name", "api-url"],
)
def test_malformed_settings_are_named_without_the_secret(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    done = serve(tmp_path, MESHGATE_SLACK_SIGNING_SECRET="s3cr3t-signing", **env)
    assert done.returncode == 2
    assert says in done.stderr
    assert "secret" not in done.stderr.replace("SIGNING_SECRET", "").lower()
