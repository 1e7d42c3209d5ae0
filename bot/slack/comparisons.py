"""Before/after numbers in the rollout's thread, a while after each phase change.

When a change is applied, the service's numbers are kept (workflows.ports.StateStore
`save_before`) with a due time (MESHGATE_METRICS_COMPARE_AFTER, 15 minutes by default). This
sweep, run every minute by `meshgate serve` on one replica per tick, reads the numbers again
for each comparison that is due and posts both in the rollout's thread, so the people who
approved see what their change did.
"""

from __future__ import annotations

import logging

from bot.metrics import text as metrics_text
from bot.slack.publishing import Publisher
from commands import numbers
from commands.context import Context
from workflows.naming import ServiceRef
from workflows.ports import StoreUnavailable

log = logging.getLogger(__name__)


def sweep(*, ctx: Context, publisher: Publisher) -> list[str]:
    """Post every due comparison; the `service|phase` pairs posted."""
    if ctx.metrics is None:
        return []
    try:
        due = ctx.store.due_comparisons(now=ctx.clock())
    except StoreUnavailable as e:
        log.warning("metric comparisons skipped: %s", e)
        return []
    posted = []
    for service, phase in due:
        if not ctx.store.compared(service, phase):
            continue  # another replica took it
        before = ctx.store.before_of(service, phase)
        after = numbers.metrics_snapshot(ctx, service=ServiceRef.parse(service))
        if before is None or after is None:
            continue
        lines = metrics_text.compare(before, after)
        publisher.note(service, f"Metrics after phase `{phase}`:\n{lines}")
        posted.append(f"{service}|{phase}")
    return posted
