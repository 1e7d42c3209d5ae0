"""Fault 5: a replica is killed (SIGKILL) in the middle of a phase change; another carries on.

Two `meshgate serve` processes share one external Redis, one Slack stand-in and one
Kubernetes API stand-in (read through a kubeconfig, as in a cluster). Replica A takes the
approval that applies phase `strict`'s PeerAuthentication; the API server holds that apply
and A is killed while it waits. Either the server then carries the apply out (the change is
done) or it does not (not done). Replica B, started on the same Redis, finishes the story on
its own verification sweep: done and recorded as done (the phase completes), or not done and
recorded as rolled back. The cluster and Redis are both read to check they agree.

A change done by a killed replica and verified by the other can still be rolled back: what the
objects were before is kept before the apply is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.state.store import RedisStore
from tests.faults.replicas import Replica
from tests.integration.test_kube_credentials import kubeconfig_for
from tests.integration.test_phase_changes import PA
from tests.support import kube_fixtures
from tests.support.clusters import one_service_cluster
from tests.support.kube_api import FakeKubeApi
from tests.support.redis_server import RedisServer
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import eventually

SVC = "shop/checkout"
ALICE, BOB, DAVE = "UALICE", "UBOB", "UDAVE"
KUBE_TOKEN = "kubeconfig-token"
HELD = 2.0  # seconds the API server holds the apply: replica A dies inside them
PLAYBOOK = f"""\
schema: meshgate.playbook/v1
name: strict-only
phases:
  - id: prepare
    stage: assess
    title: Prepare
    gate: [{{id: ready, title: Ready, attest: true}}]
    approvals: {{required: 0}}
  - id: strict
    stage: release
    title: STRICT mTLS
    gate: [{{id: announced, title: Announced, attest: true}}]
    change: {{kind: peer-authentication, mode: STRICT}}
    approvals: {{required: 1, users: [{BOB}]}}
    verification: {{deadline: 1s, interval: 10s}}
  - id: rbac
    stage: release
    title: RBAC
    gate: [{{id: done, title: Done, attest: true}}]
"""


@pytest.fixture
def api(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
) -> FakeKubeApi:
    return kube_api_factory(one_service_cluster(), schemas=istio_crd_schemas, token=KUBE_TOKEN)


@pytest.fixture
def replica_env(
    api: FakeKubeApi, own_redis: RedisServer, slack_api: SlackWebStandIn, tmp_path: Path
) -> dict[str, str]:
    book = tmp_path / "playbook.yaml"
    book.write_text(PLAYBOOK, "utf-8")
    config = kubeconfig_for(tmp_path / "kc.yaml", api.url, token=KUBE_TOKEN, current="fake-ctx")
    return {
        "MESHGATE_REDIS_URL": own_redis.url,
        "MESHGATE_STATE_DIR": str(tmp_path / "state"),
        "MESHGATE_SLACK_API_URL": slack_api.base_url,
        "MESHGATE_PLAYBOOK": str(book),
        "KUBECONFIG": str(config),
    }


@pytest.fixture
def replicas(replica_env: dict[str, str]) -> Iterator[Callable[[], Replica]]:
    started: list[Replica] = []

    def start() -> Replica:
        replica = Replica(env=replica_env).start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        output = replica.stop()
        assert "Traceback" not in output, output[-3000:]


def applies(api: FakeKubeApi) -> int:
    """PATCHes of the PeerAuthentication that were not dry runs (the apply itself)."""
    return sum(
        1 for r in api.log if r.method == "PATCH" and r.path == PA and "dryRun" not in r.query
    )


def answered(api: FakeKubeApi) -> int:
    """PATCHes of the PeerAuthentication the API server has answered (dry runs included)."""
    return sum(1 for method, path, _ in api.statuses if (method, path) == ("PATCH", PA))


def grew(store: RedisStore, seen: int) -> Callable[[], bool]:
    return lambda: len(store.history(SVC, limit=1000)) > seen


def history(store: RedisStore) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in store.history(SVC, limit=1000)]


def to_approval(replica: Replica, store: RedisStore) -> None:
    for text, user in (
        (f"start {SVC}", ALICE),
        (f"attest {SVC} ready", DAVE),
        (f"advance {SVC}", ALICE),
        (f"attest {SVC} announced", DAVE),
        (f"advance {SVC}", ALICE),
    ):
        seen = len(store.history(SVC, limit=1000))
        assert replica.command(text, user=user) == 200
        eventually(grew(store, seen), what=text)
    pending = store.load(SVC)
    assert pending is not None and pending.state == "awaiting_approval"


CASES = {
    "the server carries the apply out": True,
    "the server drops the apply": False,
}


@pytest.mark.parametrize("done", CASES.values(), ids=CASES.keys())
def test_a_replica_killed_during_a_phase_change_leaves_it_done_and_recorded_or_not_done(
    api: FakeKubeApi,
    own_redis: RedisServer,
    replicas: Callable[[], Replica],
    slack_api: SlackWebStandIn,
    store: RedisStore,
    figure: Callable[[str, str], None],
    done: bool,
) -> None:
    a = replicas()
    to_approval(a, store)

    if done:
        api.slow(PA, HELD, method="PATCH")  # held, then stored although A is gone
    else:
        api.fail(PA, 503, method="PATCH", delay=HELD)  # held, then dropped: nothing stored
    assert a.command(f"approve {SVC}", user=BOB) == 200
    eventually(lambda: applies(api) == 1, what="replica A's apply to reach the API server")
    a.kill()
    killed = time.monotonic()
    at_kill = store.load(SVC)
    assert at_kill is not None
    eventually(lambda: answered(api) == api.count(method="PATCH", path=PA), what="the answer")
    applied = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert (applied is not None) == done

    b = replicas()  # another replica on the same Redis carries on
    if done:
        settled = eventually(
            lambda: (r := store.load(SVC)) is not None and r.phase == "rbac" and r,
            timeout=40,
            what="replica B to record the change as done",
        )
        assert ("meshgate", "verify", "ok") in history(store)
    else:
        settled = eventually(
            lambda: (r := store.load(SVC)) is not None and r.state == "rolled_back" and r,
            timeout=40,
            what="replica B to record the change as not done",
        )
        assert settled.phase == "strict"
    carried = time.monotonic() - killed
    asked = sum(e["user"] == ALICE for e in slack_api.ephemerals)
    assert b.command(f"status {SVC}", user=ALICE) == 200
    eventually(
        lambda: sum(e["user"] == ALICE for e in slack_api.ephemerals) > asked,
        what="replica B to answer a status",
    )
    assert ("UBOB", "approve", "ok") in history(store), "the approval was lost"
    still = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert (still is not None) == done, "the cluster and Redis disagree"
    shown = "`rbac`" if done else "*State:* rolled back"
    eventually(
        lambda: any(shown in json.dumps(m.get("blocks", [])) for m in slack_api.messages("C111")),
        what="the rollout's message in Slack to show the outcome",
    )
    figure(
        "replica-killed" + ("-apply-done" if done else "-apply-dropped"),
        f"replica A SIGKILLed while its apply was held ({at_kill.state} at {at_kill.phase} in "
        f"Redis then); the API server {'stored' if done else 'dropped'} it; replica B "
        f"recorded it as {'done (phase completed)' if done else 'not done (rolled back)'} "
        f"{carried:.1f} s after the kill; cluster and Redis agree; approval kept, 0 lost",
    )


def test_a_change_done_by_a_killed_replica_can_be_rolled_back(
    api: FakeKubeApi,
    own_redis: RedisServer,
    replicas: Callable[[], Replica],
    store: RedisStore,
) -> None:
    a = replicas()
    to_approval(a, store)
    api.slow(PA, HELD, method="PATCH")
    assert a.command(f"approve {SVC}", user=BOB) == 200
    eventually(lambda: applies(api) == 1, what="replica A's apply to reach the API server")
    a.kill()
    b = replicas()
    eventually(
        lambda: (r := store.load(SVC)) is not None and r.phase == "rbac",
        timeout=40,
        what="replica B to record the change as done",
    )
    seen = len(store.history(SVC, limit=1000))
    assert b.command(f"rollback {SVC}", user=BOB) == 200
    eventually(grew(store, seen), what="the rollback in the history")
    after = store.load(SVC)
    assert after is not None and (after.phase, after.state) == ("strict", "rolled_back")
    still = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert still is None, "rolled back in Redis, but the STRICT policy is still in the cluster"
