"""The live cluster reader over HTTP against the fake Kubernetes API server.

The same objects give the same snapshot as the offline ManifestReader (Istio's samples and
task policies from reference/istio); pagination is really used; a kind that fails gives an
error for that kind only; an unserved kind is reported, not failed; Sidecar falls back to
v1beta1; the number of requests does not depend on the number of services.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.kube.live import LiveClusterReader
from bot.kube.manifests import ManifestReader
from tests.support import kube_fixtures, reference
from tests.support.kube_api import FakeKubeApi
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

# Until tests/conftest.py registers tests.support.kube_fixtures as a plugin.
kube_api_factory = kube_fixtures.kube_api_factory
kube_api = kube_fixtures.kube_api

REFERENCE = reference.ISTIO
MANIFESTS = sorted([*(REFERENCE / "samples").glob("*.yaml"), *(REFERENCE / "tasks").glob("*.yaml")])
SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation")


def _documents(paths: list[Path]) -> list[RawObject]:
    docs: list[RawObject] = []
    for path in paths:
        docs.extend(d for d in yaml.safe_load_all(path.read_text("utf-8")) if isinstance(d, dict))
    return docs


def _pod(namespace: str, name: str, app: str) -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": "example"}]},
        "status": {"phase": "Running"},
    }


def _service(namespace: str, name: str) -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]},
    }


def _mesh(services: int, *, namespaces: int = 5) -> list[RawObject]:
    objects: list[RawObject] = []
    for n in range(namespaces):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns{n}"}})
    for s in range(services):
        namespace = f"ns{s % namespaces}"
        objects.append(_service(namespace, f"svc{s}"))
        objects.append(_pod(namespace, f"svc{s}-pod", f"svc{s}"))
    return objects


def _normalised(snapshot: ClusterSnapshot) -> dict[str, list[RawObject]]:
    """Objects per kind without what the server adds, apiVersion as its group only."""
    out: dict[str, list[RawObject]] = {}
    for kind, items in snapshot.objects.items():
        cleaned = []
        for item in items:
            meta = {k: v for k, v in item["metadata"].items() if k not in SERVER_METADATA}
            group = str(item["apiVersion"]).rpartition("/")[0]
            cleaned.append({**item, "apiVersion": group, "metadata": meta})
        out[kind.value] = sorted(
            cleaned, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )
    return out


@pytest.fixture
def reader_for() -> Iterator[Any]:
    readers: list[LiveClusterReader] = []

    def make(api: FakeKubeApi, **options: Any) -> LiveClusterReader:
        reader = LiveClusterReader.for_host(api.url, **options)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


def test_live_snapshot_equals_the_manifest_snapshot_of_the_same_objects(
    kube_api: FakeKubeApi, reader_for: Any, tmp_path: Path
) -> None:
    for path in MANIFESTS:
        shutil.copy(path, tmp_path / f"{path.parent.name}-{path.name}")
    offline = ManifestReader(tmp_path).snapshot()
    kube_api.seed(_documents(MANIFESTS))

    live = reader_for(kube_api, page_size=3).snapshot()

    assert live.errors == {}
    assert live.unserved == frozenset()
    assert offline.errors == {}
    assert _normalised(live) == _normalised(offline)
    # the reference mixes v1beta1 (tasks) and v1 (samples) policies: both are read
    assert len(live.of(Kind.AUTHORIZATION_POLICY)) == 6
    assert len(live.of(Kind.DEPLOYMENT)) == 9


def test_large_kinds_are_read_page_by_page(kube_api: FakeKubeApi, reader_for: Any) -> None:
    kube_api.seed(_pod("big", f"pod-{i:04d}", "big") for i in range(1050))

    snapshot = reader_for(kube_api, page_size=100).snapshot()

    assert len(snapshot.of(Kind.POD)) == 1050
    assert kube_api.count(method="GET", path="/api/v1/pods") == 11
    pod_requests = [r for r in kube_api.log if r.path == "/api/v1/pods"]
    assert all(r.query["limit"] == "100" for r in pod_requests)
    assert sum(1 for r in pod_requests if r.query.get("continue")) == 10


@pytest.mark.parametrize(
    ("path", "status", "kind", "expected"),
    [
        pytest.param("/api/v1/pods", 403, Kind.POD, "403 Forbidden", id="pods-403"),
        pytest.param(
            "/apis/security.istio.io/v1/peerauthentications",
            500,
            Kind.PEER_AUTHENTICATION,
            "500 InternalError",
            id="peerauthentications-500",
        ),
        pytest.param(
            "/apis/networking.istio.io/v1/destinationrules",
            503,
            Kind.DESTINATION_RULE,
            "503 ServiceUnavailable",
            id="destinationrules-503",
        ),
        pytest.param(
            "/api/v1/namespaces/istio-system/configmaps/istio",
            403,
            Kind.CONFIG_MAP,
            "403",
            id="mesh-config-403",
        ),
    ],
)
def test_a_failing_kind_is_an_error_for_that_kind_only(
    kube_api: FakeKubeApi,
    reader_for: Any,
    path: str,
    status: int,
    kind: Kind,
    expected: str,
) -> None:
    kube_api.seed(_mesh(4))
    kube_api.fail(path, status, message="computer says no")

    snapshot = reader_for(kube_api).snapshot()

    assert set(snapshot.errors) == {kind}
    assert expected in snapshot.errors[kind]
    assert not snapshot.readable(kind)
    assert snapshot.of(kind) == ()
    assert len(snapshot.of(Kind.SERVICE)) == 4 or kind is Kind.SERVICE


def test_an_error_on_a_later_page_fails_the_whole_kind(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(_pod("big", f"pod-{i}", "big") for i in range(30))
    kube_api.fail("/api/v1/pods", 500, times=1)  # the first page
    snapshot = reader_for(kube_api, page_size=10).snapshot()
    assert Kind.POD in snapshot.errors
    assert snapshot.of(Kind.POD) == ()  # never a partial list that would read as "fewer pods"


def test_a_slow_kind_times_out_into_errors_and_the_rest_is_read(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(_mesh(3))
    kube_api.slow("/api/v1/services", 5.0)

    started = time.monotonic()
    snapshot = reader_for(kube_api, timeout=0.5).snapshot()
    elapsed = time.monotonic() - started

    assert set(snapshot.errors) == {Kind.SERVICE}
    assert "no answer within 0.5s" in snapshot.errors[Kind.SERVICE]
    assert len(snapshot.of(Kind.POD)) == 3
    assert elapsed < 3.0  # one timeout, not urllib3's four retries of it
    assert kube_api.count(path="/api/v1/services") == 1


def test_a_kind_the_cluster_does_not_serve_is_unserved_not_an_error(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.drop("Certificate")
    kube_api.seed(_mesh(2))

    snapshot = reader_for(kube_api).snapshot()

    assert snapshot.unserved == frozenset({Kind.CERTIFICATE})
    assert snapshot.errors == {}
    assert snapshot.readable(Kind.CERTIFICATE)
    assert kube_api.count(path="/apis/cert-manager.io/*") == 0


def test_sidecar_is_read_in_v1beta1_where_only_that_is_served(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.serve_only("Sidecar", "v1beta1")
    kube_api.seed(
        [
            {
                "apiVersion": "networking.istio.io/v1beta1",
                "kind": "Sidecar",
                "metadata": {"name": "default", "namespace": "istio-system"},
                "spec": {"egress": [{"hosts": ["./*"]}]},
            }
        ]
    )

    snapshot = reader_for(kube_api).snapshot()

    (sidecar,) = snapshot.of(Kind.SIDECAR)
    assert sidecar["apiVersion"] == "networking.istio.io/v1beta1"
    assert kube_api.count(path="/apis/networking.istio.io/v1beta1/sidecars") == 1
    assert kube_api.count(path="/apis/networking.istio.io/v1/sidecars") == 0
    # the other networking kinds stay on v1
    assert kube_api.count(path="/apis/networking.istio.io/v1/virtualservices") == 1


def test_failed_discovery_of_a_group_makes_its_kinds_unknown(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.fail("/apis/security.istio.io/*", 403, method="GET")
    snapshot = reader_for(kube_api).snapshot()
    assert set(snapshot.errors) == {Kind.PEER_AUTHENTICATION, Kind.AUTHORIZATION_POLICY}
    assert "discovery failed" in snapshot.errors[Kind.PEER_AUTHENTICATION]


def test_failed_discovery_of_all_groups_keeps_core_kinds(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(_mesh(2))
    kube_api.fail("/apis", 500)
    snapshot = reader_for(kube_api).snapshot()
    assert len(snapshot.of(Kind.SERVICE)) == 2
    assert Kind.SIDECAR in snapshot.errors and Kind.CERTIFICATE in snapshot.errors
    assert Kind.DEPLOYMENT not in snapshot.errors


def test_request_count_does_not_depend_on_the_number_of_services(
    kube_api_factory: kube_fixtures.KubeApiFactory, reader_for: Any
) -> None:
    small = kube_api_factory(_mesh(10))
    large = kube_api_factory(_mesh(300, namespaces=30))

    small_snapshot = reader_for(small, page_size=500).snapshot()
    large_snapshot = reader_for(large, page_size=500).snapshot()

    assert len(large_snapshot.of(Kind.SERVICE)) == 300
    assert len(small_snapshot.of(Kind.SERVICE)) == 10
    assert sum(large.requests.values()) == sum(small.requests.values())
    assert sorted(large.requests) == sorted(small.requests)
    # no request names a namespace except the one GET of the mesh config and the Secrets of
    # the gateways' namespace (MESHGATE_SECRET_NAMESPACES)
    namespaced = sorted({p for (_, p) in large.requests if "/namespaces/" in p})
    assert namespaced == [
        "/api/v1/namespaces/istio-system/configmaps/istio",
        "/api/v1/namespaces/istio-system/secrets",
    ]


def test_secrets_are_listed_as_metadata_only_and_tls_secrets_are_marked(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "bookinfo-credential",
                    "namespace": "istio-system",
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": '{"data": "c2VjcmV0"}',
                        "team": "shop",
                    },
                },
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": "c2VjcmV0", "tls.key": "c2VjcmV0"},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db-password", "namespace": "shop"},
                "type": "Opaque",
                "stringData": {"password": "hunter2"},
            },
        ]
    )

    snapshot = reader_for(kube_api, secret_namespaces=["*"]).snapshot()

    secrets = {s["metadata"]["name"]: s for s in snapshot.of(Kind.SECRET)}
    assert set(secrets) == {"bookinfo-credential", "db-password"}
    assert secrets["bookinfo-credential"]["type"] == "kubernetes.io/tls"
    assert secrets["bookinfo-credential"]["metadata"]["annotations"] == {"team": "shop"}
    assert "type" not in secrets["db-password"]  # not in the metadata; never guessed
    assert "c2VjcmV0" not in repr(snapshot.objects) and "hunter2" not in repr(snapshot.objects)
    secret_requests = [r for r in kube_api.log if r.path == "/api/v1/secrets"]
    assert len(secret_requests) == 2
    assert all("as=PartialObjectMetadataList" in r.accept for r in secret_requests)


SECRETS_IN_THREE_NAMESPACES = [
    {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
     "metadata": {"name": f"{ns}-cert", "namespace": ns}}
    for ns in ("istio-system", "istio-ingress", "shop")
]  # fmt: skip


@pytest.mark.parametrize(
    ("namespaces", "seen", "paths"),
    [
        pytest.param(
            ["istio-system"], {"istio-system-cert"},
            ["/api/v1/namespaces/istio-system/secrets"], id="default",
        ),
        pytest.param(
            ["istio-system", "istio-ingress"], {"istio-system-cert", "istio-ingress-cert"},
            ["/api/v1/namespaces/istio-ingress/secrets", "/api/v1/namespaces/istio-system/secrets"],
            id="two-gateway-namespaces",
        ),
        pytest.param(
            ["*"], {"istio-system-cert", "istio-ingress-cert", "shop-cert"},
            ["/api/v1/secrets"], id="cluster-wide",
        ),
    ],
)  # fmt: skip
def test_secrets_are_listed_only_in_the_namespaces_named(
    kube_api: FakeKubeApi,
    reader_for: Any,
    namespaces: list[str],
    seen: set[str],
    paths: list[str],
) -> None:
    kube_api.seed(SECRETS_IN_THREE_NAMESPACES)

    snapshot = reader_for(kube_api, secret_namespaces=namespaces).snapshot()

    assert {s["metadata"]["name"] for s in snapshot.of(Kind.SECRET)} == seen
    assert sorted({r.path for r in kube_api.log if r.path.endswith("/secrets")}) == paths
    assert snapshot.secrets_readable_in("istio-system")
    assert snapshot.secrets_readable_in("shop") == (namespaces == ["*"])


def test_a_forbidden_secret_namespace_makes_secrets_unreadable(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(SECRETS_IN_THREE_NAMESPACES)
    kube_api.fail("/api/v1/namespaces/istio-ingress/secrets", 403)

    snapshot = reader_for(kube_api, secret_namespaces=["istio-system", "istio-ingress"]).snapshot()

    assert "403" in snapshot.errors[Kind.SECRET]
    assert not snapshot.secrets_readable_in("istio-system")


def test_only_the_mesh_config_map_is_read(kube_api: FakeKubeApi, reader_for: Any) -> None:
    kube_api.seed(
        [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "istio", "namespace": "istio-system"},
             "data": {"mesh": "defaultConfig: {}"}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "other", "namespace": "istio-system"}, "data": {}},
        ]
    )  # fmt: skip
    snapshot = reader_for(kube_api).snapshot()
    (mesh_config,) = snapshot.of(Kind.CONFIG_MAP)
    assert mesh_config["metadata"]["name"] == "istio"
    assert "managedFields" not in mesh_config["metadata"]


def test_no_mesh_config_is_no_error(kube_api: FakeKubeApi, reader_for: Any) -> None:
    snapshot = reader_for(kube_api).snapshot()
    assert snapshot.of(Kind.CONFIG_MAP) == ()
    assert snapshot.errors == {}


def test_items_get_kind_and_api_version_back_and_lose_managed_fields(
    kube_api: FakeKubeApi, reader_for: Any
) -> None:
    kube_api.seed(_mesh(1))
    snapshot = reader_for(kube_api).snapshot()
    (service,) = snapshot.of(Kind.SERVICE)
    assert (service["apiVersion"], service["kind"]) == ("v1", "Service")
    assert all("managedFields" not in o["metadata"] for o in snapshot.of(Kind.NAMESPACE))


def test_bearer_token_is_sent_and_never_in_error_messages(
    kube_api_factory: kube_fixtures.KubeApiFactory,
) -> None:
    api = kube_api_factory(_mesh(1), token="s3cr3t-token")
    api.fail("/api/v1/pods", 403)
    with LiveClusterReader.for_host(api.url, token="s3cr3t-token") as reader:
        snapshot = reader.snapshot()
    assert len(snapshot.of(Kind.SERVICE)) == 1
    assert set(snapshot.errors) == {Kind.POD}
    with LiveClusterReader.for_host(api.url, token="wrong-token") as reader:
        refused = reader.snapshot()
    assert Kind.SERVICE in refused.errors and "401" in refused.errors[Kind.SERVICE]
    messages = " ".join([*snapshot.errors.values(), *refused.errors.values()])
    assert "s3cr3t" not in messages and "wrong-token" not in messages


def test_unreachable_server_gives_errors_for_every_kind() -> None:
    with FakeKubeApi() as api:
        url = api.url
    with LiveClusterReader.for_host(url, timeout=1.0) as reader:
        snapshot = reader.snapshot()
    assert set(snapshot.errors) == set(Kind)
    assert "cannot connect" in snapshot.errors[Kind.POD]


def test_the_control_plane_reads_the_same_live_and_offline(
    kube_api: FakeKubeApi, reader_for: Any, tmp_path: Path
) -> None:
    # Istio's injector webhooks (cluster-scoped), istiod, and a mesh config naming another
    # root namespace: the inject gate and the root namespace read them.
    control_plane: list[RawObject] = [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "istio-sidecar-injector"},
         "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
                       "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system"}},
                       "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "istio", "namespace": "istio-system"},
         "data": {"mesh": "rootNamespace: mesh-root\n"}},
    ]  # fmt: skip
    (tmp_path / "control-plane.yaml").write_text(yaml.safe_dump_all(control_plane), "utf-8")
    kube_api.seed(control_plane)

    live = reader_for(kube_api).snapshot()
    offline = ManifestReader(tmp_path).snapshot()

    assert live.errors == {} and offline.errors == {}
    assert _normalised(live) == _normalised(offline)
    (webhooks,) = live.of(Kind.MUTATING_WEBHOOK)
    assert "namespace" not in webhooks["metadata"]
    assert live.root_namespace == offline.root_namespace == "mesh-root"
