"""Upload a chart into a rollout's Slack thread with files_upload_v2.

slack_sdk's `files_upload_v2` runs Slack's external upload flow (files.getUploadURLExternal,
a POST of the bytes to the URL it gives, files.completeUploadExternal with the channel and
thread). Errors come back as ChartUploadFailed with Slack's error code, never the token.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError


class ChartUploadFailed(Exception):
    """Slack refused or did not take the upload; the message has Slack's error code."""


def upload_chart(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str,
    png: bytes,
    filename: str,
    title: str,
    comment: str = "",
) -> str:
    """Upload `png` into the thread `thread_ts` of `channel`; the Slack file id."""
    try:
        response = client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=filename,
            title=title,
            initial_comment=comment or None,
        )
    except SlackApiError as e:
        raise ChartUploadFailed(
            f"Slack refused the chart upload: {e.response.get('error', 'unknown error')}"
        ) from e
    except (SlackClientError, OSError) as e:  # OSError: a timeout or a broken connection
        raise ChartUploadFailed(f"the chart upload did not reach Slack: {type(e).__name__}") from e
    file = response.get("file") or {}
    return str(file.get("id", ""))
