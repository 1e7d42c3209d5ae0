"""The command line as a kubectl user expects it: --kubeconfig, --context, -n, --version.

Real `meshgate` processes against the Kubernetes API stand-in (through a kubeconfig file) and
against the demo mesh's manifests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import redis

from bot.cli import cluster
from bot.errors import StartupError
from bot.settings import Settings
from tests.integration.test_kube_credentials import SERVICE, kubeconfig_for
from tests.support.kube_api import FakeKubeApi
from workflows.mesh.snapshot import Kind

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo_mesh"


def run(
    args: list[str], tmp_path: Path, *, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MESHGATE_", "KUBE"))}
    done = subprocess.run(
        [MESHGATE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, "HOME": str(tmp_path), "MESHGATE_STATE_DIR": str(tmp_path / "s"), **env},
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    other = {**SERVICE, "metadata": {"name": "ledger", "namespace": "billing"}}
    server = FakeKubeApi([SERVICE, other], token="kubeconfig-token").start()
    yield server
    server.stop()


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    done = run(["--version"], tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"meshgate {metadata.version('meshgate')}"


def test_audit_reads_the_context_of_the_kubeconfig_given_and_only_the_namespace_asked(
    api: FakeKubeApi, tmp_path: Path
) -> None:
    config = kubeconfig_for(tmp_path / "kc.yaml", api.url, token="kubeconfig-token")
    done = run(
        ["audit", "--kubeconfig", str(config), "--context", "fake-ctx", "-n", "billing",
         "--format", "json"],
        tmp_path,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert [s["service"] for s in report["services"]] == ["billing/ledger"]
    assert ("GET", "/api/v1/services") in api.requests


def test_audit_finds_the_kubeconfig_through_the_kubeconfig_variable(
    api: FakeKubeApi, tmp_path: Path
) -> None:
    config = kubeconfig_for(
        tmp_path / "kc.yaml", api.url, token="kubeconfig-token", current="fake-ctx"
    )
    done = run(
        ["audit", "--service", "checkout", "-n", "shop", "--format", "json"],
        tmp_path,
        KUBECONFIG=str(config),
    )
    assert [s["service"] for s in json.loads(done.stdout)["services"]] == ["shop/checkout"]


def test_audit_without_any_cluster_says_what_to_pass(tmp_path: Path) -> None:
    done = run(["audit"], tmp_path)
    assert done.returncode == 2
    assert "no cluster to read" in done.stderr and "--manifests" in done.stderr


def test_console_reads_names_in_the_namespace_given(tmp_path: Path) -> None:
    done = run(
        ["console", "--manifests", str(DEMO), "-n", "shop", "--format", "json", "--as", "al"],
        tmp_path,
        stdin="start productpage\n/rollout status productpage\nstatus billing/ledger\n",
    )
    start, status, other = (json.loads(line) for line in done.stdout.splitlines())
    assert start["ok"] and start["rollout"]["service"] == "shop/productpage"
    assert status["rollout"]["service"] == "shop/productpage"
    assert other["error"]["code"] == "not_found"  # a name with a namespace is left alone
    for sock in (tmp_path / "s").rglob("redis.sock"):
        redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)


def test_a_context_with_manifests_is_refused(tmp_path: Path) -> None:
    done = run(["console", "--manifests", str(DEMO), "--context", "prod"], tmp_path)
    assert done.returncode == 2
    assert "--manifests/--demo read no cluster" in done.stderr


@pytest.mark.parametrize(("read_only", "writes"), [(False, True), (True, False)])
def test_read_only_settings_give_a_reader_and_no_writer(
    api: FakeKubeApi, tmp_path: Path, read_only: bool, writes: bool
) -> None:
    config = kubeconfig_for(tmp_path / "kc.yaml", api.url, token="kubeconfig-token")
    args = argparse.Namespace(kubeconfig=str(config), context="fake-ctx", manifests=None)
    settings = Settings(read_only=read_only, secret_namespaces=("istio-system",))

    reader, writer = cluster.cluster_from(args, settings)

    assert reader is not None
    assert [s["metadata"]["name"] for s in reader.snapshot().of(Kind.SERVICE)] == [
        "ledger",
        "checkout",
    ]
    assert (writer is not None) is writes


def test_a_missing_kubeconfig_file_is_a_start_up_error(tmp_path: Path) -> None:
    args = argparse.Namespace(kubeconfig=str(tmp_path / "nope"), context=None, manifests=None)
    with pytest.raises(StartupError, match="no such file"):
        cluster.cluster_from(args, Settings())
