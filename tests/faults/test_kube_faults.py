"""Fault 3: the Kubernetes API answers 500, 403 or nothing at all (a timeout).

A command context on the live reader and writer, talking over HTTP to the Kubernetes API
stand-in (tests/support/kube_api.py) with faults injected. A checklist item that needs a kind
the server would not give is `unknown`, never `pass`, and its line in the reply says what could
not be read and why; `advance` refuses with `gate_failed`. A change the server refuses (500 or
403 on the apply) leaves the rollout at its phase, and the history records the refusal.

An apply answered after the writer gave up is not reported as "nothing was changed": the rollout
stays where the machine put it, the reply says the outcome is unknown, and the cluster and Redis
agree once the server answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.console import render
from bot.kube.changes import KubeChanges
from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from bot.state.store import RedisStore
from commands import dispatch
from commands.context import Context
from tests.faults import figures
from tests.integration.test_phase_changes import PA, STRICT_PLAYBOOK, to_strict_request
from tests.support import kube_fixtures
from tests.support.clock import ManualClock
from tests.support.clusters import one_service_cluster
from tests.support.kube_api import FakeKubeApi
from tests.support.slack_app import eventually
from workflows import playbook

SVC = "shop/checkout"
TIMEOUT = 0.5  # the reader's and writer's request timeout; a slow fault waits longer


@pytest.fixture(scope="module")
def tally() -> Iterator[dict[str, int]]:
    """Counts over this module's rows; its figure line is recorded once they all ran."""
    counts = {"reads": 0, "unknown": 0, "applies": 0, "kept": 0}
    yield counts
    if counts["reads"] == len(READ_FAULTS) and counts["applies"] == len(APPLY_FAULTS):
        figures.record(
            "kubernetes-500-403-timeout",
            f"{counts['reads']} read faults (500, 403, no answer on Pods and Services): "
            f"{counts['unknown']} checklist verdicts 'unknown', 0 'pass', every advance "
            f"refused 'gate_failed'; {counts['applies']} applies refused (500, 403): the "
            f"rollout kept at its phase ('rolled_back') and the refusal in its history "
            f"{counts['kept']}/{counts['applies']}, nothing written to the cluster",
        )


@pytest.fixture
def api(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
) -> FakeKubeApi:
    return kube_api_factory(one_service_cluster(), schemas=istio_crd_schemas)


@pytest.fixture
def live(api: FakeKubeApi) -> Iterator[tuple[LiveClusterReader, KubeChanges]]:
    with (
        LiveClusterReader.for_host(api.url, timeout=TIMEOUT) as reader,
        KubeWriter.for_host(api.url, timeout=TIMEOUT) as writer,
    ):
        yield reader, KubeChanges(writer)


# (kind read by the checks, path glob, fault, what the reply must say, items that need the kind)
READ_FAULTS = {
    "pods 500": ("Pod", "/api/v1/pods", 500, "500", ("pods-running", "no-uid-1337")),
    "pods 403": ("Pod", "/api/v1/pods", 403, "403", ("pods-running", "no-host-network")),
    "pods timeout": ("Pod", "/api/v1/pods", None, "no answer within", ("pods-running",)),
    "services 500": ("Service", "/api/v1/services", 500, "500", ("ports-named",)),
    "services 403": ("Service", "/api/v1/services", 403, "403", ("ports-named",)),
    "services timeout": ("Service", "/api/v1/services", None, "no answer within", ("ports-named",)),
}


@pytest.mark.parametrize(
    ("kind", "path", "status", "says", "items"), READ_FAULTS.values(), ids=READ_FAULTS.keys()
)
def test_a_kind_that_cannot_be_read_makes_its_checks_unknown_never_pass(
    api: FakeKubeApi,
    live: tuple[LiveClusterReader, KubeChanges],
    store: RedisStore,
    clock: ManualClock,
    tally: dict[str, int],
    kind: str,
    path: str,
    status: int | None,
    says: str,
    items: tuple[str, ...],
) -> None:
    reader, _ = live
    ctx = Context(store=store, playbook=playbook.default(), clock=clock, cluster=reader)
    assert dispatch.execute(f"start {SVC}", actor="alice", ctx=ctx).ok
    healthy = dispatch.execute(f"status {SVC}", actor="alice", ctx=ctx).rollout
    assert healthy is not None
    assert {i.id: i.status for i in healthy.checklist if i.id in items} == dict.fromkeys(
        items, "pass"
    ), "the check must pass on a healthy cluster for this row to mean anything"

    if status is None:
        api.slow(path, TIMEOUT * 4, method="GET")
    else:
        api.fail(path, status, method="GET", message=f"injected {status}")
    reply = dispatch.execute(f"status {SVC}", actor="alice", ctx=ctx)
    assert reply.rollout is not None
    lines = {i.id: i for i in reply.rollout.checklist}
    shown = render.render(reply)
    for item in items:
        assert lines[item].status == "unknown", (item, lines[item])
        assert f"could not read {kind}" in lines[item].reason, lines[item].reason
        assert says in lines[item].reason, lines[item].reason
    assert f"could not read {kind}" in shown and says in shown, shown
    assert not any(i.status == "pass" and "could not read" in i.reason for i in lines.values())

    refused = dispatch.execute(f"advance {SVC}", actor="alice", ctx=ctx)
    assert refused.error is not None and refused.error.code == "gate_failed"
    assert {b.id for b in refused.error.blockers or ()} >= set(items)
    kept = store.load(SVC)
    assert kept is not None and kept.phase == "assess"
    tally["reads"] += 1
    tally["unknown"] += len(items)


APPLY_FAULTS = {"apply 500": 500, "apply 403": 403}


def _strict_context(
    live: tuple[LiveClusterReader, KubeChanges], store: RedisStore, clock: ManualClock
) -> Context:
    """A command context on the live reader and writer, with the one-phase STRICT playbook."""
    reader, writer = live
    return Context(
        store=store,
        playbook=playbook.parse(STRICT_PLAYBOOK, source="strict.yaml"),
        clock=clock,
        cluster=reader,
        writer=writer,
    )


@pytest.mark.parametrize("status", APPLY_FAULTS.values(), ids=APPLY_FAULTS.keys())
def test_an_apply_the_server_refuses_leaves_the_rollout_at_its_phase_and_is_recorded(
    api: FakeKubeApi,
    live: tuple[LiveClusterReader, KubeChanges],
    store: RedisStore,
    clock: ManualClock,
    tally: dict[str, int],
    status: int,
) -> None:
    ctx = _strict_context(live, store, clock)
    assert to_strict_request(ctx).ok
    api.fail(PA, status, method="PATCH", message=f"injected {status}")
    approved = dispatch.execute(f"approve {SVC}", actor="bob", ctx=ctx)
    assert approved.error is not None and approved.error.code == "conflict"
    assert str(status) in approved.error.message
    assert "back at phase strict" in approved.error.message
    after = store.load(SVC)
    assert after is not None and (after.phase, after.state) == ("strict", "rolled_back")
    assert api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout") is None
    last = store.history(SVC, limit=1000)[-1]
    assert (last.actor, last.action, last.outcome) == ("meshgate", "change", "conflict")
    tally["applies"] += 1
    tally["kept"] += 1


def test_an_apply_answered_too_late_is_not_recorded_as_nothing_changed(
    api: FakeKubeApi,
    live: tuple[LiveClusterReader, KubeChanges],
    store: RedisStore,
    clock: ManualClock,
) -> None:
    ctx = _strict_context(live, store, clock)
    assert to_strict_request(ctx).ok
    api.slow(PA, TIMEOUT * 3, method="PATCH")  # answered after the writer gave up; stored
    approved = dispatch.execute(f"approve {SVC}", actor="bob", ctx=ctx)
    eventually(
        lambda: (
            len([s for s in api.statuses if s[:2] == ("PATCH", PA)])
            == api.count(method="PATCH", path=PA)
        ),
        what="the API server to answer the held apply",
    )
    in_cluster = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    after = store.load(SVC)
    assert after is not None
    said = approved.error.message if approved.error else ""
    assert not (in_cluster is not None and "nothing was changed" in said), said
    assert (in_cluster is not None) == (after.state != "rolled_back"), "cluster and Redis disagree"
    assert approved.error is not None and "may be in the cluster or not" in said, said
    assert "rollback" in said, "the reply names the way back"
