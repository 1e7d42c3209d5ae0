"""Credentials chosen as kubectl chooses them, in one place, for the reader and the writer.

A table of flags, environment and files present against the credentials chosen; then the
choices talking to the Kubernetes API stand-in: a kubeconfig context over HTTP, and the pod's
service account over HTTPS with the mounted CA and token (as in a pod without a kubeconfig).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.kube import credentials
from bot.kube.credentials import KubeTarget
from bot.kube.errors import KubeConfigInvalid
from bot.kube.live import LiveClusterReader
from bot.kube.writer import KubeWriter
from tests.support.kube_api import FakeKubeApi
from tests.support.tls import loopback_cert
from workflows.mesh.snapshot import Kind

POD_ENV = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"selector": {"app": "checkout"}, "ports": [{"name": "http", "port": 80}]},
}


def kubeconfig_for(path: Path, server: str, *, token: str, current: str = "other") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": server}}],
                "users": [
                    {"name": "bot", "user": {"token": token}},
                    {"name": "nobody", "user": {"token": "wrong"}},
                ],
                "contexts": [
                    {"name": "fake-ctx", "context": {"cluster": "fake", "user": "bot"}},
                    {"name": "other", "context": {"cluster": "fake", "user": "nobody"}},
                ],
                "current-context": current,
            }
        ),
        "utf-8",
    )
    return path


def service_account(folder: Path, *, token: str, ca: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token, "utf-8")
    (folder / "namespace").write_text("meshgate", "utf-8")
    if ca is not None:
        (folder / "ca.crt").write_bytes(ca.read_bytes())
    return folder


# The order: --kubeconfig, KUBECONFIG, ~/.kube/config, the pod's service account, nothing.
@pytest.mark.parametrize(
    ("flag", "env", "home_config", "token", "expected"),
    [
        pytest.param("given", {}, True, True, "flag", id="flag-wins"),
        pytest.param(None, {"KUBECONFIG": "ENV"}, True, True, "env", id="env-before-home"),
        pytest.param(None, {}, True, True, "home", id="home-before-pod"),
        pytest.param(None, POD_ENV, False, True, "pod", id="pod-without-kubeconfig"),
        pytest.param(None, {**POD_ENV, "KUBECONFIG": "ENV"}, False, True, "env",
                     id="kubeconfig-in-a-pod-wins"),
        pytest.param(None, POD_ENV, False, False, None, id="pod-env-but-no-token"),
        pytest.param(None, {}, False, True, None, id="nothing"),
    ],
)  # fmt: skip
def test_credentials_are_chosen_in_kubectls_order(
    tmp_path: Path,
    flag: str | None,
    env: dict[str, str],
    home_config: bool,
    token: bool,
    expected: str | None,
) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    if home_config:
        (home / ".kube" / "config").write_text("{}")
    given = tmp_path / "given.yaml"
    given.write_text("{}")
    accounts = tmp_path / "sa"
    if token:
        service_account(accounts, token="t")
    environ = {k: (str(tmp_path / "env.yaml") if v == "ENV" else v) for k, v in env.items()}

    chosen = credentials.choose(
        kubeconfig=str(given) if flag else None,
        environ=environ,
        home=home,
        service_account_dir=accounts,
    )

    where = {
        "flag": KubeTarget(kubeconfig=str(given)),
        "env": KubeTarget(kubeconfig=str(tmp_path / "env.yaml")),
        "home": KubeTarget(kubeconfig=str(home / ".kube" / "config")),
        "pod": KubeTarget(in_cluster=True, service_account_dir=accounts, environ=environ),
    }
    assert chosen == (where[expected] if expected else None)


@pytest.mark.parametrize(
    ("flag", "context", "says"),
    [
        pytest.param("missing.yaml", None, "no such file", id="missing-kubeconfig-file"),
        pytest.param(None, "prod", "context 'prod' needs a kubeconfig", id="context-without"),
    ],
)
def test_credentials_that_cannot_be_found_are_a_clear_error(
    tmp_path: Path, flag: str | None, context: str | None, says: str
) -> None:
    with pytest.raises(KubeConfigInvalid, match=says):
        credentials.choose(
            kubeconfig=str(tmp_path / flag) if flag else None,
            context=context,
            environ=POD_ENV,  # a service account does not stand in for a named context
            home=tmp_path,
            service_account_dir=service_account(tmp_path / "sa", token="t"),
        )


def test_a_kubeconfig_context_reads_as_its_user(tmp_path: Path) -> None:
    api = FakeKubeApi([SERVICE], token="kubeconfig-token").start()
    try:
        path = kubeconfig_for(tmp_path / "config", api.url, token="kubeconfig-token")
        chosen = credentials.choose(kubeconfig=str(path), context="fake-ctx", environ={})
        assert chosen is not None
        with LiveClusterReader.for_target(chosen) as reader:
            snapshot = reader.snapshot()
        assert snapshot.source == "context fake-ctx"
        assert [s["metadata"]["name"] for s in snapshot.of(Kind.SERVICE)] == ["checkout"]
        # the current context's user has the wrong token: the reader says so, per kind
        current = credentials.choose(kubeconfig=str(path), environ={})
        assert current is not None
        with LiveClusterReader.for_target(current) as reader:
            assert "401" in reader.snapshot().errors[Kind.SERVICE]
        with pytest.raises(KubeConfigInvalid):
            LiveClusterReader.for_target(KubeTarget(kubeconfig=str(path), context="missing"))
    finally:
        api.stop()


def test_in_a_pod_without_a_kubeconfig_the_service_account_is_used_over_tls(
    tmp_path: Path,
) -> None:
    cert = loopback_cert(tmp_path)
    api = FakeKubeApi([SERVICE], token="pod-token").start(tls=cert.server_context())
    try:
        port = api.url.rsplit(":", 1)[1]
        environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}
        accounts = service_account(tmp_path / "sa", token="pod-token", ca=cert.cert)

        chosen = credentials.choose(
            environ=environ, home=tmp_path / "no-home", service_account_dir=accounts
        )

        assert chosen is not None and chosen.in_cluster
        with LiveClusterReader.for_target(chosen) as reader:
            snapshot = reader.snapshot()
        assert snapshot.errors == {}
        assert snapshot.source == "in-cluster service account"
        assert [s["metadata"]["name"] for s in snapshot.of(Kind.SERVICE)] == ["checkout"]
        with KubeWriter.for_target(chosen) as writer:
            assert writer.transport.host == f"https://127.0.0.1:{port}"
            # the writer sends the pod's token too (the stand-in answers 401 without it)
            got = writer.transport.request("GET", "/api/v1/namespaces/shop/services/checkout")
            assert got["metadata"]["name"] == "checkout"
    finally:
        api.stop()


def test_a_service_account_without_its_ca_is_a_config_error(tmp_path: Path) -> None:
    accounts = service_account(tmp_path / "sa", token="t")  # no ca.crt
    chosen = credentials.choose(environ=POD_ENV, home=tmp_path, service_account_dir=accounts)
    assert chosen is not None
    with pytest.raises(KubeConfigInvalid, match="in-cluster config"):
        LiveClusterReader.for_target(chosen)
