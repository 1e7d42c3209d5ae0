"""Command contexts for tests, built from real parts (a Redis store, a manifest folder)."""

from __future__ import annotations

from pathlib import Path

from bot.kube.manifests import ManifestReader
from bot.state.store import RedisStore
from commands.context import Context
from tests.support.clock import ManualClock
from tests.support.playbooks import attest_only
from workflows.playbook import Playbook
from workflows.rollout.state import Approvers

DEMO_MESH = Path(__file__).resolve().parents[2] / "bot" / "demo_mesh"


def context(
    store: RedisStore,
    clock: ManualClock,
    *,
    playbook: Playbook | None = None,
    approvers: tuple[str, ...] = (),
    manifests: Path | None = DEMO_MESH,
) -> Context:
    return Context(
        store=store,
        playbook=playbook or attest_only(),
        clock=clock,
        cluster=ManifestReader(manifests) if manifests else None,
        default_approvers=Approvers.parse(approvers),
    )
