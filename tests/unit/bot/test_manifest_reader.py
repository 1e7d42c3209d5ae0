"""The offline cluster reader: multi-document YAML and List objects in, a snapshot out."""

from __future__ import annotations

from pathlib import Path

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
