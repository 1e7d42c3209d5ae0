"""Command contexts for tests, built from real parts (a Redis store, a manifest folder).

`context` runs on an in-memory cluster loaded from the manifests (bot.kube.memory), which takes
meshgate's changes, so phases apply and verify their changes as on a live cluster;
`applied=False` reads the manifests as a read-only cluster instead (nothing is written).
"""

from __future__ import annotations

from pathlib import Path

from bot.kube.manifests import ManifestReader
from bot.kube.memory import MemoryCluster
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
    applied: bool = True,
) -> Context:
    memory = MemoryCluster.from_manifests(manifests) if manifests and applied else None
    return Context(
        store=store,
        playbook=playbook or attest_only(),
        clock=clock,
        cluster=memory or (ManifestReader(manifests) if manifests else None),
        writer=memory,
        default_approvers=Approvers.parse(approvers),
    )
