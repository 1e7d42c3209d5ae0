"""Bolt listeners, one module per kind, each with `register(app, deps)` (Bolt starter layout).

Every listener acks at once and hands its work to the Worker: the ack never waits for Redis,
the cluster or the Web API. The work claims the Slack delivery first, so a retried delivery
is acked and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.publishing import Publisher
from bot.slack.state import SlackState
from bot.slack.worker import Worker
from bot.watching import Watcher
from commands.context import Context


@dataclass(frozen=True)
class Deps:
    """What listeners need: the command context, Slack bookkeeping, publisher and worker."""

    ctx: Context
    state: SlackState
    publisher: Publisher
    worker: Worker
    slash_command: str
    watcher: Watcher | None = None  # shows an alert's change after an ack or snooze

    def hand_off(self, body: Mapping[str, Any], job: Callable[[], None], *, what: str) -> None:
        """Run `job` on the worker once per Slack delivery (retries are dropped there).

        A delivery is named by its `event_id` (events) or `trigger_id` (commands, clicks,
        modal submissions); Slack's retries carry the same one.
        """
        delivery = str(body.get("event_id") or body.get("trigger_id") or "")

        def once() -> None:
            if delivery and not self.state.claim_delivery_or_unknown(delivery):
                return
            job()

        self.worker.submit(once, what=what)
