"""The regression watch over the Kubernetes API stand-in and a real Redis: real changes in,
alerts out, once per cause; blind when reads fail; one sweep per tick across replicas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import kube_fixtures
from tests.support.clock import ManualClock
from tests.support.kube_api import FakeKubeApi
from tests.support.watched import (
    CALLERS,
    INTERVAL,
    Kube,
    hold_baselines,
    kube,
    mesh,
    patch_istio,
    watch_bot,
)
from tests.unit.workflows.fixtures_posture import builders as b
from workflows.watch.alerts import BLIND_CAUSE


def set_mesh_permissive(k: Kube) -> None:
    patch_istio(k, "peerauthentications", "istio-system", "default",
                {"spec": {"mtls": {"mode": "PERMISSIVE"}}})  # fmt: skip


def delete_allow_policy(k: Kube) -> None:
    k.custom.delete_namespaced_custom_object(
        "security.istio.io", "v1", "shop", "authorizationpolicies", "allow-callers"
    )


def dry_run_allow_policy(k: Kube) -> None:
    patch_istio(k, "authorizationpolicies", "shop", "allow-callers",
                {"metadata": {"annotations": {"istio.io/dry-run": "true"}}})  # fmt: skip


def uninject_namespace(k: Kube, api: FakeKubeApi) -> None:
    """A person removes the injection label; the ReplicaSets then restart the pods bare."""
    k.core.patch_namespace("shop", {"metadata": {"labels": {"istio-injection": None}}})
    for n in range(2):
        app = f"svc-{n:03d}"
        old = b.workload_pod(app, "shop")
        # a raw answer: the stand-in's pods lack the uid the client's models insist on
        k.core.delete_namespaced_pod(old["metadata"]["name"], "shop", _preload_content=False)
        # the controller's part (the stand-in runs none): the new pod has no sidecar
        api.seed([b.workload_pod(app, "shop", proxy=None, index=1)])


CASES = [
    pytest.param(set_mesh_permissive, {"mtls_weakened"},
                 "PeerAuthentication istio-system/default", id="peer-authentication-patched"),
    pytest.param(delete_allow_policy, {"default_deny_removed"},
                 "AuthorizationPolicy shop/allow-callers", id="authorization-policy-deleted"),
    pytest.param(dry_run_allow_policy, {"policy_unenforced", "default_deny_removed"},
                 "AuthorizationPolicy shop/allow-callers", id="dry-run-annotation-added"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "kinds", "cause"), CASES)
def test_a_real_change_is_one_alert_with_its_cause_on_the_next_tick(
    change: Callable[[Kube], None],
    kinds: set[str],
    cause: str,
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(mesh())
    with watch_bot(redis_url, api, clock, tmp_path) as bot:
        assert hold_baselines(bot) == 2
        assert bot.watcher.tick().lines == ()  # nothing regressed yet
        change(kube(api))
        clock.advance(INTERVAL)
        result = bot.watcher.tick()
    assert result.ran and not result.problem
    (line,) = result.lines
    assert (line.alert.cause, line.state.value) == (cause, "new")
    assert set(line.alert.kinds) == kinds
    assert line.alert.services == ("shop/svc-000", "shop/svc-001")


def test_removing_the_injection_label_is_sidecar_missing(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(mesh())
    with watch_bot(redis_url, api, clock, tmp_path) as bot:
        hold_baselines(bot)
        uninject_namespace(kube(api), api)
        clock.advance(INTERVAL)
        result = bot.watcher.tick()
    kinds = {k for line in result.lines for k in line.alert.kinds}
    assert "sidecar_missing" in kinds
    assert all(line.state.value == "new" for line in result.lines)
    assert all(line.alert.services == ("shop/svc-000", "shop/svc-001") for line in result.lines)


def test_a_mesh_wide_change_over_300_services_is_one_alert_not_repeated_then_resolved(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    namespaces = tuple(f"team-{n:02d}" for n in range(30))
    api = kube_api_factory(mesh(namespaces=namespaces, per_namespace=10))
    with watch_bot(redis_url, api, clock, tmp_path) as bot:
        assert hold_baselines(bot) == 300
        set_mesh_permissive(kube(api))
        clock.advance(INTERVAL)
        first = bot.watcher.tick()
        clock.advance(INTERVAL)
        second = bot.watcher.tick()
        patch_istio(kube(api), "peerauthentications", "istio-system", "default",
                    {"spec": {"mtls": {"mode": "STRICT"}}})  # fmt: skip
        clock.advance(timedelta(minutes=40))
        third = bot.watcher.tick()
        open_after = bot.watcher.store.open_alerts()
    (new,) = first.lines
    assert new.state.value == "new" and len(new.alert.services) == 300
    assert [(line.alert.id, line.state.value) for line in second.lines] == [(new.alert.id, "open")]
    (resolved,) = third.lines
    assert (resolved.alert.id, resolved.state.value) == (new.alert.id, "resolved")
    assert resolved.alert.lasted() == timedelta(minutes=41)
    assert open_after == []


def test_the_watch_goes_blind_on_api_errors_keeps_alerts_open_and_recovers(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    redis_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    api = kube_api_factory(mesh())
    with watch_bot(redis_url, api, clock, tmp_path, watch_blind_after=3) as bot:
        hold_baselines(bot)
        delete_allow_policy(kube(api))
        clock.advance(INTERVAL)
        (opened,) = bot.watcher.tick().lines
        # the policy comes back, but Pods cannot be read: nothing may be called healthy
        api.seed([b.authorization_policy("allow-callers", "shop", spec={"rules": [CALLERS]})])
        api.fail("/api/v1/pods", 500, message="etcdserver: request timed out")
        results = []
        for _ in range(3):
            clock.advance(INTERVAL)
            results.append(bot.watcher.tick())
        api.clear_faults()
        clock.advance(INTERVAL)
        recovered = bot.watcher.tick()
    states = [{(line.alert.cause, line.state.value) for line in r.lines} for r in results]
    assert states[0] == {(opened.alert.cause, "open")}  # not resolved from a partial read
    assert states[1] == {(opened.alert.cause, "open")}
    assert states[2] == {(opened.alert.cause, "open"), (BLIND_CAUSE, "new")}
    blind = next(line.alert for line in results[2].lines if line.alert.cause == BLIND_CAUSE)
    assert blind.detail.startswith("Pod: ") and "500" in blind.detail
    assert {(line.alert.cause, line.state.value) for line in recovered.lines} == {
        (opened.alert.cause, "resolved"),
        (BLIND_CAUSE, "resolved"),
    }
