"""The offline cluster reader: multi-document YAML and List objects in, a snapshot out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kube.manifests import ManifestReader
from workflows.mesh.snapshot import Kind

MULTI_DOC = """\
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec: {selector: {app: checkout}, ports: [{name: http, port: 80}]}
---
# a comment-only document and an empty one are skipped
---
apiVersion: v1
kind: Secret
metadata: {name: checkout-tls, namespace: shop}
type: kubernetes.io/tls
data: {tls.key: c2VjcmV0}
stringData: {password: hunter2}
"""

KUBECTL_LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: checkout-1, namespace: shop}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: istio, namespace: istio-system}
  data: {mesh: "defaultConfig: {}"}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: unrelated, namespace: shop}
"""

TYPED_LIST = """\
apiVersion: security.istio.io/v1
kind: PeerAuthenticationList
items:
- metadata: {name: default, namespace: istio-system}
  spec: {mtls: {mode: STRICT}}
"""


def test_documents_lists_and_typed_lists_are_read_and_secrets_lose_their_data(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(MULTI_DOC)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "b.yml").write_text(KUBECTL_LIST)
    (tmp_path / "c.yaml").write_text(TYPED_LIST)
    (tmp_path / "notes.txt").write_text("kind: Service\n")  # not a manifest

    snapshot = ManifestReader(tmp_path).snapshot()

    assert not snapshot.errors
    assert [s["metadata"]["name"] for s in snapshot.of(Kind.SERVICE)] == ["checkout"]
    assert [p["metadata"]["name"] for p in snapshot.of(Kind.POD)] == ["checkout-1"]
    (secret,) = snapshot.of(Kind.SECRET)
    assert secret["type"] == "kubernetes.io/tls"
    assert "data" not in secret and "stringData" not in secret
    assert [c["metadata"]["name"] for c in snapshot.of(Kind.CONFIG_MAP)] == ["istio"]
    (policy,) = snapshot.of(Kind.PEER_AUTHENTICATION)
    assert policy["kind"] == "PeerAuthentication"
    assert policy["spec"]["mtls"]["mode"] == "STRICT"


def test_a_broken_file_makes_every_kind_unreadable_not_empty(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(MULTI_DOC)
    (tmp_path / "broken.yaml").write_text("kind: Service\nmetadata: [unclosed\n")
    snapshot = ManifestReader(tmp_path).snapshot()
    assert set(snapshot.errors) == set(Kind)
    assert "broken.yaml" in snapshot.errors[Kind.SERVICE]
    assert not snapshot.readable(Kind.PEER_AUTHENTICATION)


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    snapshot = ManifestReader(tmp_path / "nope").snapshot()
    assert "is not a folder of manifests" in snapshot.errors[Kind.SERVICE]


MALFORMED = [
    pytest.param(
        "kind: Service\nmetadata: checkout\n", Kind.SERVICE, "metadata is a string, not a mapping",
        id="metadata-a-string",
    ),
    pytest.param(
        "kind: List\nitems: [oops, 3]\n", Kind.SERVICE, "List: 2 item(s) are not objects",
        id="list-with-non-object-items",
    ),
    pytest.param(
        "kind: ServiceList\nitems: [oops]\n", Kind.SERVICE, "ServiceList: 1 item(s) are not",
        id="typed-list-with-a-non-object-item",
    ),
    pytest.param(
        "kind: Service\nmetadata: {name: checkout, namespace: shop, labels: [app, checkout]}\n",
        Kind.SERVICE, "Service shop/checkout: metadata.labels is a list, not a mapping",
        id="labels-a-list",
    ),
    pytest.param(
        "kind: Service\nmetadata:\n  name: checkout\n  labels: !!set {app: null}\n",
        Kind.SERVICE, "metadata.labels is a set (!!set), not a mapping", id="labels-a-set",
    ),
    pytest.param(
        "kind: Service\nmetadata: {name: checkout, labels: {version: 2}}\n", Kind.SERVICE,
        "quote numbers and booleans", id="label-value-a-number",
    ),
    pytest.param(
        "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\n"
        "spec: {rules: {from: []}}\n",
        Kind.AUTHORIZATION_POLICY, "spec.rules is a mapping, not a list",
        id="authz-rules-not-a-list",
    ),
    pytest.param(
        "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\n"
        "spec: {action: ALOW, rules: [{}]}\n",
        Kind.AUTHORIZATION_POLICY, "spec.action 'ALOW' is not one of", id="authz-action-misspelt",
    ),
    pytest.param(
        "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec: allow-all\n",
        Kind.AUTHORIZATION_POLICY, "spec is a string, not a mapping", id="authz-spec-a-string",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "says"), MALFORMED)
def test_a_malformed_object_is_a_read_error_for_its_kind_never_dropped_or_a_crash(
    tmp_path: Path, text: str, kind: Kind, says: str
) -> None:
    (tmp_path / "good.yaml").write_text(MULTI_DOC)
    (tmp_path / "bad.yaml").write_text(text)
    snapshot = ManifestReader(tmp_path).snapshot()
    assert not snapshot.readable(kind)
    assert "bad.yaml: " in snapshot.errors[kind] and says in snapshot.errors[kind]
