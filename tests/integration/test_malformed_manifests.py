"""`console` and `serve` over a folder with a malformed object: a clear answer, never `internal`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.state.store import RedisStore
from commands import dispatch
from tests.support.clock import ManualClock
from tests.support.contexts import context
from tests.unit.workflows.fixtures_posture import sample_mesh

MALFORMED = {
    "metadata-a-string": "kind: Service\nmetadata: checkout\n",
    "list-item-not-an-object": "kind: List\nitems: [oops]\n",
    "labels-a-list": "kind: Service\nmetadata: {name: x, namespace: shop, labels: [a]}\n",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_commands_on_a_malformed_folder_say_what_could_not_be_read(
    store: RedisStore, clock: ManualClock, tmp_path: Path, text: str
) -> None:
    mesh = sample_mesh.write(tmp_path / "mesh")
    (mesh / "zz-malformed.yaml").write_text(text, "utf-8")
    ctx = context(store, clock, manifests=mesh, applied=False)  # as `--manifests`
    for line in ("audit", "start shop/productpage", "status shop/productpage"):
        reply = dispatch.execute(line, actor="alice", ctx=ctx)
        assert reply.error is None or reply.error.code != "internal", (line, reply.error)
    audit = dispatch.execute("audit", actor="alice", ctx=ctx)
    assert audit.ok and audit.warnings is not None
    assert any("could not read Service: zz-malformed.yaml" in w for w in audit.warnings)
