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
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import observability
from bot.slack import blocks, surfaces
from bot.slack.counted_client import SLACK_ERRORS
from bot.slack.listeners import Deps, fields
from commands import dispatch, recording
from commands.errors import CommandError, UsageError
from workflows.errors import ErrorCode
from workflows.naming import InvalidServiceRef, ServiceRef
from workflows.rollout.events import Approve, Reject

log = logging.getLogger(__name__)


def decision_target(value: str) -> tuple[ServiceRef, str]:
    """The (service, request id) a button or modal carries; UsageError when malformed."""
    try:
        data = json.loads(value)
        return ServiceRef.parse(str(data["service"])), str(data["request"])
    except (ValueError, KeyError, TypeError, InvalidServiceRef) as e:
        raise UsageError("this button is malformed", usage="/rollout approve NS/NAME") from e


def target_or_refuse(
    deps: Deps,
    value: str,
    *,
    verb: str,
    actor: str,
    channel: str,
    team: str,
    message_ts: str = "",
) -> tuple[ServiceRef, str] | None:
    """The decision a button or modal carries, or None after telling the clicker why not.

    A click counts only on the rollout's own message, in its own workspace: a button value
    carried to another channel, message or team (with an approver's user id) is refused, not
    acted on, and the refusal goes in the rollout's history. A message recorded before its
    team was (no `team` in its ref) is checked on channel and message alone.
    """
    try:
        service, request_id = decision_target(value)
    except UsageError as e:
        malformed = dispatch.error_reply(verb, e)
        observability.replied(malformed)
        deps.publisher.ephemeral(channel=channel, user=actor, reply=malformed)
        return None
    home = deps.state.message_of(str(service))
    why = ""
    if home is not None and home.team and home.team != team:
        why = f"this click comes from another Slack workspace than {service}'s rollout"
    elif home is not None and (home.channel != channel or (message_ts and home.ts != message_ts)):
        why = f"this button is not on the message of {service}'s rollout; decide there"
    if why:
        refusal = CommandError(ErrorCode.NOT_AUTHORIZED, why)
        event = (
            Approve(service=service, request_id=request_id)
            if verb == "approve"
            else Reject(service=service, request_id=request_id)
        )
        recording.record_refusal(
            deps.ctx,
            event,
            actor=actor,
            stored=deps.ctx.store.load(str(service)),
            refusal=refusal,
            now=deps.ctx.clock(),
        )
        refused = dispatch.error_reply(verb, refusal)
        observability.replied(refused)
        deps.publisher.ephemeral(channel=channel, user=actor, reply=refused)
        return None
    return service, request_id


def team_of(body: dict[str, Any]) -> str:
    """The workspace a click or submission comes from ("" if Slack named none)."""
    team = body.get("team") or {}
    user = body.get("user") or {}
    return str(team.get("id") or user.get("team_id") or "")


def register(app: App, deps: Deps) -> None:
    """Listen for the two buttons."""

    @app.action(blocks.APPROVE_ACTION)
    def on_approve(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        click = _Click.of(body, action)

        def work() -> None:
            target = click.target(deps, verb="approve")
            if target is None:
                return
            service, request_id = target
            reply = dispatch.run(
                Approve(service=service, request_id=request_id), actor=click.actor, ctx=deps.ctx
            )
            observability.replied(reply)
            deps.publisher.decided(
                reply, actor=click.actor, channel=click.channel, service=str(service)
            )

        deps.hand_off(body, work, what=f"approve click by {click.actor}")
        ack()  # after the hand-off: an acked request's work is already queued

    @app.action(blocks.REJECT_ACTION)
    def on_reject(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        click = _Click.of(body, action)

        def work() -> None:
            target = click.target(deps, verb="reject")
            if target is None:
                return
            service, request_id = target
            modal = surfaces.reject_modal(
                service=str(service), request_id=request_id, channel=click.channel
            )
            try:
                # the app's client, not Bolt's per-request one: its failures are counted
                app.client.views_open(trigger_id=str(body["trigger_id"]), view=modal)
            except SLACK_ERRORS as e:
                said = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
                log.warning("cannot open the reject modal: %s", said)

        # a trigger id is good for 3 s: open the modal at once, not behind other work
        deps.hand_off(body, work, what=f"reject click by {click.actor}")
        ack()  # after the hand-off: an acked request's work is already queued


@dataclass(frozen=True)
class _Click:
    """A button click: who, where (workspace, channel, message) and the button's value."""

    actor: str
    channel: str
    team: str
    message_ts: str
    value: str

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> _Click:
        return cls(
            actor=fields.user_id(body),
            channel=fields.channel_id(body),
            team=team_of(body),
            message_ts=_message_ts_of(body),
            value=str(action.get("value", "")),
        )

    def target(self, deps: Deps, *, verb: str) -> tuple[ServiceRef, str] | None:
        """The rollout and request the click decides, or None (refused and answered)."""
        return target_or_refuse(
            deps,
            self.value,
            verb=verb,
            actor=self.actor,
            channel=self.channel,
            team=self.team,
            message_ts=self.message_ts,
        )


def _message_ts_of(body: dict[str, Any]) -> str:
    message = body.get("message") or {}
    container = body.get("container") or {}
    return str(message.get("ts") or container.get("message_ts") or "")
