"""Approve and Reject buttons on a rollout's message.

Both ack at once and do their work on the Worker. Approve runs the same handler as
`/rollout approve`, with the request id the button carries, so
a click on an old request is `already_decided`. Reject opens a modal asking why. Either way the
message is re-rendered from stored state (so a late click also shows the request's real fate),
and a refusal is shown to the clicker alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import blocks, surfaces
from bot.slack.listeners import Deps, fields
from commands import dispatch
from commands.errors import CommandError, UsageError
from workflows.errors import ErrorCode
from workflows.naming import InvalidServiceRef, ServiceRef
from workflows.rollout.events import Approve

log = logging.getLogger(__name__)


def decision_target(value: str) -> tuple[ServiceRef, str]:
    """The (service, request id) a button or modal carries; UsageError when malformed."""
    try:
        data = json.loads(value)
        return ServiceRef.parse(str(data["service"])), str(data["request"])
    except (ValueError, KeyError, TypeError, InvalidServiceRef) as e:
        raise UsageError("this button is malformed", usage="/rollout approve NS/NAME") from e


def target_or_refuse(
    deps: Deps, value: str, *, verb: str, actor: str, channel: str, message_ts: str = ""
) -> tuple[ServiceRef, str] | None:
    """The decision a button or modal carries, or None after telling the clicker why not.

    A click counts only on the rollout's own message: a button value carried to another
    channel or message (with an approver's user id) is refused, not acted on.
    """
    try:
        service, request_id = decision_target(value)
    except UsageError as e:
        deps.publisher.ephemeral(channel=channel, user=actor, reply=dispatch.error_reply(verb, e))
        return None
    home = deps.state.message_of(str(service))
    if home is not None and (home.channel != channel or (message_ts and home.ts != message_ts)):
        refusal = CommandError(
            ErrorCode.NOT_AUTHORIZED,
            f"this button is not on the message of {service}'s rollout; decide there",
        )
        deps.publisher.ephemeral(
            channel=channel, user=actor, reply=dispatch.error_reply(verb, refusal)
        )
        return None
    return service, request_id


def register(app: App, deps: Deps) -> None:
    """Listen for the two buttons."""

    @app.action(blocks.APPROVE_ACTION)
    def on_approve(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        actor, channel = fields.user_id(body), fields.channel_id(body)
        ts = _message_ts_of(body)
        value = str(action.get("value", ""))

        def work() -> None:
            target = target_or_refuse(
                deps, value, verb="approve", actor=actor, channel=channel, message_ts=ts
            )
            if target is None:
                return
            service, request_id = target
            reply = dispatch.run(
                Approve(service=service, request_id=request_id), actor=actor, ctx=deps.ctx
            )
            deps.publisher.decided(reply, actor=actor, channel=channel, service=str(service))

        deps.hand_off(body, work, what=f"approve click by {actor}")
        ack()  # after the hand-off: an acked request's work is already queued

    @app.action(blocks.REJECT_ACTION)
    def on_reject(
        ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        actor, channel = fields.user_id(body), fields.channel_id(body)
        ts = _message_ts_of(body)
        value = str(action.get("value", ""))

        def work() -> None:
            target = target_or_refuse(
                deps, value, verb="reject", actor=actor, channel=channel, message_ts=ts
            )
            if target is None:
                return
            service, request_id = target
            modal = surfaces.reject_modal(
                service=str(service), request_id=request_id, channel=channel
            )
            try:
                client.views_open(trigger_id=str(body["trigger_id"]), view=modal)
            except SlackApiError as e:
                log.warning("cannot open the reject modal: %s", e.response.get("error"))

        # a trigger id is good for 3 s: open the modal at once, not behind other work
        deps.hand_off(body, work, what=f"reject click by {actor}")
        ack()  # after the hand-off: an acked request's work is already queued


def _message_ts_of(body: dict[str, Any]) -> str:
    message = body.get("message") or {}
    container = body.get("container") or {}
    return str(message.get("ts") or container.get("message_ts") or "")
