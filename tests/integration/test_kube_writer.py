"""The writer over HTTP against the fake Kubernetes API server (with Istio's CRD schemas).

Dry run stores nothing and returns a diff; apply creates (201) or patches with field manager
`meshgate`; the replaced object is recorded and rollback restores it; errors are translated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.kube.errors import KubeConflict, KubeForbidden, KubeInvalid, KubeNotFound, KubeUnavailable
from bot.kube.live import LiveClusterReader
from bot.kube.writer import Applied, KubeWriter
from tests.support import kube_fixtures
from tests.support.kube_api import FakeKubeApi
from workflows.changes import actions
from workflows.mesh.snapshot import ClusterSnapshot, RawObject
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

# Until tests/conftest.py registers tests.support.kube_fixtures as a plugin.
kube_api_factory = kube_fixtures.kube_api_factory
istio_crd_schemas = kube_fixtures.istio_crd_schemas

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CHECKOUT = ServiceRef(namespace="shop", name="checkout")
CALLERS = ["cluster.local/ns/shop/sa/web"]
PA_PATH = "/apis/security.istio.io/v1/namespaces/shop/peerauthentications/meshgate-checkout"
AP_PATH = "/apis/security.istio.io/v1/namespaces/shop/authorizationpolicies/meshgate-checkout"
DENY_PATH = AP_PATH + "-deny-by-default"

STRICT = PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="STRICT")
PERMISSIVE = PhaseChange(kind=ChangeKind.PEER_AUTHENTICATION, mode="PERMISSIVE")
INJECT = PhaseChange(kind=ChangeKind.SIDECAR_INJECTION)
RBAC = PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, deny_by_default=True)
RBAC_DRY_RUN = PhaseChange(kind=ChangeKind.AUTHORIZATION_POLICY, dry_run=True)


def _cluster() -> list[RawObject]:
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "shop", "labels": {"team": "shop"}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "checkout", "namespace": "shop"},
         "spec": {"selector": {"app": "checkout"}, "ports": [{"name": "http", "port": 80}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "checkout", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"},
                                            "annotations": {"prometheus.io/scrape": "true"}},
                               "spec": {"containers": [{"name": "app", "image": "checkout:1"}]}}}},
    ]  # fmt: skip


@pytest.fixture
def api(
    kube_api_factory: kube_fixtures.KubeApiFactory,
    istio_crd_schemas: dict[tuple[str, str, str], dict[str, Any]],
) -> FakeKubeApi:
    return kube_api_factory(_cluster(), schemas=istio_crd_schemas)


@pytest.fixture
def writer(api: FakeKubeApi) -> Iterator[KubeWriter]:
    with KubeWriter.for_host(api.url, timeout=2.0) as writer:
        yield writer


def _snapshot(api: FakeKubeApi) -> ClusterSnapshot:
    with LiveClusterReader.for_host(api.url) as reader:
        return reader.snapshot()


def _plan(api: FakeKubeApi, change: PhaseChange) -> list[actions.PlannedObject]:
    return actions.objects_for(
        change, service=CHECKOUT, snapshot=_snapshot(api), callers=CALLERS, now=NOW
    )


def _writes(api: FakeKubeApi) -> list[tuple[str, str, int]]:
    return [s for s in api.statuses if s[0] != "GET"]


def test_preview_is_a_server_dry_run_that_stores_nothing_and_shows_a_diff(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    planned = _plan(api, STRICT)
    (preview,) = writer.preview(planned)

    assert api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout") is None
    assert preview.before is None
    assert preview.after["spec"]["mtls"]["mode"] == "STRICT"
    assert "+++ PeerAuthentication shop/meshgate-checkout (after apply)" in preview.diff
    assert "+    mode: STRICT" in preview.diff
    assert "resourceVersion" not in preview.diff and "managedFields" not in preview.diff
    (request,) = [r for r in api.log if r.method == "PATCH"]
    assert request.query == {"fieldManager": "meshgate", "force": "true", "dryRun": "All"}
    assert request.content_type == "application/apply-patch+yaml"


def test_preview_of_a_patch_shows_only_the_changed_fields(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    label, restart = writer.preview(_plan(api, INJECT))
    assert "+    istio-injection: enabled" in label.diff
    added = [line for line in restart.diff.splitlines() if line.startswith("+ ")]
    assert added == ["+        kubectl.kubernetes.io/restartedAt: '2026-11-25T10:00:00Z'"]
    assert "istio-injection" not in json.dumps(api.get("Namespace", name="shop"))


def test_preview_of_an_unchanged_object_has_no_diff(api: FakeKubeApi, writer: KubeWriter) -> None:
    writer.apply(_plan(api, STRICT))
    (preview,) = writer.preview(_plan(api, STRICT))
    assert not preview.changes


def test_apply_creates_with_201_and_rollback_deletes_it(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    (applied,) = writer.apply(_plan(api, STRICT))

    assert applied.created
    assert ("PATCH", PA_PATH, 201) in _writes(api)
    stored = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert stored is not None and stored["spec"]["mtls"]["mode"] == "STRICT"
    assert stored["metadata"]["managedFields"][0]["manager"] == "meshgate"

    assert writer.rollback([applied]) == ["deleted PeerAuthentication shop/meshgate-checkout"]
    assert api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout") is None


def test_apply_over_an_existing_object_records_it_and_rollback_restores_it(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    writer.apply(_plan(api, PERMISSIVE))
    (applied,) = writer.apply(_plan(api, STRICT))

    assert not applied.created
    assert applied.before is not None
    assert applied.before["spec"]["mtls"]["mode"] == "PERMISSIVE"
    assert ("PATCH", PA_PATH, 200) in _writes(api)

    writer.rollback([applied])
    stored = api.get("PeerAuthentication", namespace="shop", name="meshgate-checkout")
    assert stored is not None and stored["spec"]["mtls"]["mode"] == "PERMISSIVE"


def test_dry_run_policy_then_enforced_removes_the_annotation_and_rollback_puts_it_back(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    writer.apply(_plan(api, RBAC_DRY_RUN))
    applied = writer.apply(_plan(api, RBAC))

    policy = api.get("AuthorizationPolicy", namespace="shop", name="meshgate-checkout")
    assert policy is not None
    assert "istio.io/dry-run" not in policy["metadata"]["annotations"]
    assert api.get(
        "AuthorizationPolicy", namespace="shop", name="meshgate-checkout-deny-by-default"
    )

    writer.rollback(applied)
    policy = api.get("AuthorizationPolicy", namespace="shop", name="meshgate-checkout")
    assert policy is not None
    assert policy["metadata"]["annotations"]["istio.io/dry-run"] == "true"
    assert (
        api.get("AuthorizationPolicy", namespace="shop", name="meshgate-checkout-deny-by-default")
        is None
    )


def test_injection_rollback_restores_exactly_the_fields_it_changed(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    applied = writer.apply(_plan(api, INJECT))
    namespace = api.get("Namespace", name="shop")
    assert namespace is not None
    assert namespace["metadata"]["labels"] == {"team": "shop", "istio-injection": "enabled"}

    writer.rollback(applied)

    namespace = api.get("Namespace", name="shop")
    deployment = api.get("Deployment", namespace="shop", name="checkout")
    assert namespace is not None and deployment is not None
    assert namespace["metadata"]["labels"] == {"team": "shop"}
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true"
    }


def test_applied_records_survive_json_and_still_roll_back(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    applied = writer.apply(_plan(api, RBAC))
    records = json.loads(json.dumps([a.as_record() for a in applied]))
    writer.rollback([Applied.from_record(r) for r in records])
    assert api.objects("AuthorizationPolicy") == []


def test_a_failure_midway_undoes_what_the_call_applied(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    api.fail(DENY_PATH, 500, method="PATCH")
    with pytest.raises(KubeUnavailable, match="deny-by-default: 500"):
        writer.apply(_plan(api, RBAC))
    assert api.objects("AuthorizationPolicy") == []
    assert ("DELETE", AP_PATH, 200) in api.statuses


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        pytest.param(403, KubeForbidden, "403 Forbidden", id="forbidden"),
        pytest.param(409, KubeConflict, "409 Conflict", id="conflict"),
        pytest.param(500, KubeUnavailable, "500 InternalError", id="server-error"),
        pytest.param(422, KubeInvalid, "422 Invalid", id="invalid"),
    ],
)
def test_write_errors_are_translated_and_name_the_object(
    api: FakeKubeApi, writer: KubeWriter, status: int, error: type[Exception], text: str
) -> None:
    api.fail(PA_PATH, status, method="PATCH", message="x" * 5000)
    with pytest.raises(error) as raised:
        writer.apply(_plan(api, STRICT))
    message = str(raised.value)
    assert message.startswith("apply PeerAuthentication shop/meshgate-checkout: ")
    assert text in message
    assert len(message) < 300  # the server's payload is trimmed


def test_a_label_owned_by_another_manager_is_a_conflict_not_overwritten(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    gitops = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "shop", "labels": {"istio-injection": "disabled"}}}  # fmt: skip
    with KubeWriter.for_host(api.url) as other:
        other.transport.request(
            "PATCH",
            "/api/v1/namespaces/shop",
            query=[("fieldManager", "argocd")],
            body=json.dumps(gitops),
            content_type="application/apply-patch+yaml",
        )
    with pytest.raises(KubeConflict, match="argocd"):
        writer.apply(_plan(api, INJECT))
    namespace = api.get("Namespace", name="shop")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["istio-injection"] == "disabled"


def test_the_server_validates_objects_against_the_crd_schema(
    api: FakeKubeApi, writer: KubeWriter
) -> None:
    (planned,) = _plan(api, STRICT)
    broken = actions.PlannedObject(
        body={**planned.body, "spec": {"mtls": {"mode": "SOMETIMES"}}},
        purpose="broken",
        whole=True,
        force=True,
    )
    with pytest.raises(KubeInvalid, match="mode"):
        writer.preview([broken])
    assert api.objects("PeerAuthentication") == []


def test_patches_never_create_the_object_they_patch(api: FakeKubeApi, writer: KubeWriter) -> None:
    label = actions.injection_label(namespace="nowhere")
    with pytest.raises(KubeNotFound, match="never creates it"):
        writer.apply([label])
    assert api.get("Namespace", name="nowhere") is None


def test_a_slow_write_times_out(api: FakeKubeApi) -> None:
    api.slow(PA_PATH, 5.0, method="PATCH")
    with KubeWriter.for_host(api.url, timeout=0.3) as writer:
        with pytest.raises(KubeUnavailable, match="no answer within 0.3s"):
            writer.apply(_plan(api, STRICT))
