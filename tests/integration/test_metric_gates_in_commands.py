"""Metric gates through the command path: `advance` reads a real Prometheus, `metrics` answers.

The Prometheus holds tests/support/prometheus.py's MESH; the clock stands at its `AT`. payments
is all mTLS; checkout has two plaintext callers (legacy/batch and legacy/cron).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console import render
from bot.metrics.local_server import LocalPrometheus
from bot.metrics.source import PrometheusMetrics
from bot.slack import blocks
from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.support.prometheus import AT, expected_mtls
from workflows import playbook

STRICT_GATE = """\
schema: meshgate.playbook/v1
name: strict-on-numbers
phases:
  - id: strict
    stage: release
    title: STRICT mTLS by policy
    gate:
      - id: mtls-share
        title: mTLS share at least 99.9 %
        metric: {metric: mtls_share, min: 0.999, window: 30m}
      - id: no-plaintext-callers
        title: No plaintext callers
        metric: {metric: plaintext_callers, max: 0, window: 30m}
    approvals: {required: 0}
  - id: done
    stage: release
    title: Done
    gate:
      - {id: ok, title: ok, attest: true}
    approvals: {required: 0}
"""


@pytest.fixture
def ctx(store: RedisStore, prometheus: LocalPrometheus, tmp_path: Path) -> Iterator[Context]:
    clock = ManualClock(AT)
    source = PrometheusMetrics.from_url(prometheus.url)
    book = playbook.parse(STRICT_GATE, source="strict-on-numbers.yaml")
    base = context(store, clock, playbook=book, manifests=None)
    yield dataclasses.replace(base, metrics=source)
    source.close()


def test_an_all_mtls_service_passes_strict_on_its_numbers(ctx: Context) -> None:
    assert dispatch.execute("start shop/payments", actor="alice", ctx=ctx).ok
    moved = dispatch.execute("advance shop/payments", actor="alice", ctx=ctx)
    assert moved.ok, moved.error
    assert moved.rollout is not None and moved.rollout.phase == "done"


def test_plaintext_callers_stop_strict_and_are_named_with_the_numbers(ctx: Context) -> None:
    assert dispatch.execute("start shop/checkout", actor="alice", ctx=ctx).ok
    refused = dispatch.execute("advance shop/checkout", actor="alice", ctx=ctx)
    assert refused.error is not None and refused.error.code == "gate_failed"
    blockers = {b.id: b for b in refused.error.blockers or []}
    assert set(blockers) == {"mtls-share", "no-plaintext-callers"}
    share = f"{100 * expected_mtls('shop', 'checkout'):.1f} %"  # the number, then the bound
    assert f"mTLS share {share}: below the minimum 99.9 %" == blockers["mtls-share"].reason
    assert "legacy/batch" in blockers["no-plaintext-callers"].reason
    assert "legacy/cron" in blockers["no-plaintext-callers"].reason


def test_no_prometheus_is_unknown_and_says_how_to_configure_one(
    store: RedisStore, clock: ManualClock
) -> None:
    book = playbook.parse(STRICT_GATE, source="strict-on-numbers.yaml")
    ctx = context(store, clock, playbook=book, manifests=None)
    assert dispatch.execute("start shop/payments", actor="alice", ctx=ctx).ok
    refused = dispatch.execute("advance shop/payments", actor="alice", ctx=ctx)
    assert refused.error is not None and refused.error.code == "gate_failed"
    assert all(b.status == "unknown" for b in refused.error.blockers or [])
    assert "MESHGATE_PROMETHEUS_URL" in (refused.error.blockers or [])[0].fix
    metrics = dispatch.execute("metrics shop/payments", actor="alice", ctx=ctx)
    assert metrics.error is not None and metrics.error.code == "unavailable"


def test_metrics_verb_gives_the_metrics_json_and_a_chart(ctx: Context, tmp_path: Path) -> None:
    reply = dispatch.execute("metrics shop/checkout", actor="alice", ctx=ctx)
    assert reply.ok and reply.metrics is not None
    chart = render.write_chart(reply, folder=tmp_path)
    assert chart is not None and chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    shown = json.loads(render.as_json(reply, chart=chart))
    assert shown["metrics"]["schema"] == "meshgate.metrics/v1"
    assert shown["metrics"]["mtls_share"] == pytest.approx(expected_mtls("shop", "checkout"))
    assert shown["chart"] == str(chart)
    assert "mTLS share" in render.render(reply)


APPROVED_STRICT = STRICT_GATE.replace(
    "approvals: {required: 0}\n  - id: done",
    "approvals: {required: 1, users: [bob]}\n  - id: done",
    1,
)


def test_the_approval_request_carries_the_numbers_approvers_weigh(
    ctx: Context,
) -> None:
    book = playbook.parse(APPROVED_STRICT, source="strict-approved.yaml")
    asked = dataclasses.replace(ctx, playbook=book)
    assert dispatch.execute("start shop/payments", actor="alice", ctx=asked).ok
    pending = dispatch.execute("advance shop/payments", actor="alice", ctx=asked)
    assert pending.ok and pending.rollout is not None and pending.rollout.request is not None
    numbers = pending.rollout.request.metrics
    assert numbers is not None and numbers.mtls_share == pytest.approx(1.0)
    shown = json.dumps(blocks.as_dicts(blocks.rollout_message(pending.rollout)))
    assert "Metrics over 30m" in shown and "mTLS 100.00%" in shown
