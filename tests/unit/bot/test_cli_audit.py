"""`meshgate audit` end to end: a manifest folder in, JSON or a table out, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import audit as cli_audit
from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import sample_mesh

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return sample_mesh.write(tmp_path / "mesh")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_audit.main(["audit", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _add(folder: Path, name: str, *objs: dict[str, object]) -> None:
    (folder / name).write_text(yaml.safe_dump_all(list(objs)), "utf-8")


def test_json_over_the_samples_as_a_subprocess(mesh: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli.audit",
            "audit",
            "--manifests",
            str(mesh),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["schema"] == "meshgate.audit/v1"
    productpage = next(s for s in data["services"] if s["service"] == "default/productpage")
    assert productpage["mtls"] == {"mode": "STRICT", "ports": {"9080": "STRICT"}}
    assert productpage["authz"]["default"] == "deny"


def test_text_is_a_table_with_findings(mesh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--manifests", str(mesh)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["SERVICE", "SIDECAR", "MTLS", "AUTHZ", "FINDINGS"]
    # The bookinfo Gateway serves plain HTTP: a fact before the certs phase (info).
    assert "default/productpage  injected  STRICT  deny   1 (1 info)" in out
    ratings = next(line for line in lines if line.startswith("default/ratings "))
    # Istio's all-mTLS rules define subsets no route uses: harmless, so no finding.
    assert ratings.split()[1:5] == ["injected", "STRICT", "deny", "0"]
    assert "FINDINGS" in lines
    assert any(
        "MG411 info" in line and "Gateway default/bookinfo-gateway serves * without TLS" in line
        for line in lines
    )
    assert any(line.strip().startswith("fix: ") for line in lines)


def test_one_service(mesh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["--manifests", str(mesh), "--service", "default/httpbin", "--format", "json"], capsys
    )
    assert code == 0
    assert [s["service"] for s in json.loads(out)["services"]] == ["default/httpbin"]


def test_fail_on_error(mesh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--manifests", str(mesh), "--fail-on", "error"], capsys)[0] == 0
    conflict = b.destination_rule(
        "httpbin-plain",
        "default",
        host="httpbin",
        spec={"trafficPolicy": {"tls": {"mode": "DISABLE"}}},
    )
    _add(mesh, "conflict.yaml", conflict)
    code, out, _ = _run(["--manifests", str(mesh), "--fail-on", "error"], capsys)
    assert code == 1
    assert "MG103 error" in out


def test_regressions_against_a_baseline(
    mesh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["--manifests", str(mesh), "--format", "json"], capsys)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(out, "utf-8")
    assert (
        _run(
            ["--manifests", str(mesh), "--baseline", str(baseline), "--fail-on", "regression"],
            capsys,
        )[0]
        == 0
    )
    (mesh / "cluster-state.yaml").write_text(
        (mesh / "cluster-state.yaml")
        .read_text("utf-8")
        .replace("mode: STRICT", "mode: PERMISSIVE"),
        "utf-8",
    )
    code, out, _ = _run(
        ["--manifests", str(mesh), "--baseline", str(baseline), "--fail-on", "regression"], capsys
    )
    assert code == 1
    assert "REGRESSIONS (by cause)" in out
    assert "PeerAuthentication istio-system/default: 7 regression(s)" in out
    assert "mtls_weakened         default/productpage  STRICT -> PERMISSIVE" in out
    code, out, _ = _run(
        ["--manifests", str(mesh), "--baseline", str(baseline), "--format", "json"], capsys
    )
    assert code == 0  # regressions alone do not fail without --fail-on
    causes = {r["cause"] for r in json.loads(out)["regressions"]}
    assert causes == {"PeerAuthentication istio-system/default"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "is not JSON", id="not-json"),
        pytest.param('{"schema": "other/v2"}', "schema is 'other/v2'", id="wrong-schema"),
        pytest.param('["a"]', "expected a JSON object", id="a-list"),
        pytest.param(None, "cannot read baseline", id="missing-file"),
    ],
)
def test_bad_baseline_exits_2(
    mesh: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    baseline = tmp_path / "baseline.json"
    if content is not None:
        baseline.write_text(content, "utf-8")
    code, out, err = _run(["--manifests", str(mesh), "--baseline", str(baseline)], capsys)
    assert code == 2
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--service", "Default/x"], "not a valid Kubernetes name", id="bad-service"),
        pytest.param(
            ["--service", "default/nope"], "service default/nope not found", id="unknown-service"
        ),
        pytest.param(
            ["--fail-on", "regression"],
            "--fail-on regression needs --baseline",
            id="regression-needs-baseline",
        ),
    ],
)
def test_usage_errors_exit_2(
    mesh: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(["--manifests", str(mesh), *argv], capsys)
    assert code == 2
    assert message in err


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli_audit.main(["audit", "--format", "yaml"])
    assert raised.value.code == 2


def test_missing_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["--manifests", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert "not a folder" in err


def test_read_errors_print_unknown_and_exit_2(
    mesh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (mesh / "broken.yaml").write_text("kind: [unclosed", "utf-8")
    code, out, err = _run(["--manifests", str(mesh), "--format", "json"], capsys)
    assert code == 2
    assert "could not read" in err
    services = json.loads(out)["services"]
    assert services  # listed, but nothing reads as fine
    for service in services:
        assert (service["sidecar"], service["mtls"]["mode"], service["authz"]["default"]) == (
            "unknown",
            "UNKNOWN",
            "unknown",
        )
        assert [f["code"] for f in service["findings"]] == ["MG001"]
        assert "broken.yaml" in service["findings"][0]["message"]


def test_unusable_kube_context_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-kubeconfig"), "HOME": str(tmp_path)}
    env.pop("MESHGATE_KUBE_CONTEXT", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.audit", "audit", "--context", "prod"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot use the context prod" in done.stderr


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("kind: Service\nmetadata: checkout\n", "Service"),
        ("kind: List\nitems: [oops]\n", "Service"),
        ("kind: Service\nmetadata: {name: x, namespace: shop, labels: [a]}\n", "Service"),
        ("kind: Service\nmetadata:\n  name: x\n  namespace: shop\n  labels: !!set {a: null}\n",
         "Service"),
        ("kind: AuthorizationPolicy\nmetadata: {name: open, namespace: shop}\n"
         "spec: {rules: {from: []}}\n", "AuthorizationPolicy"),
    ],
    ids=["metadata-a-string", "list-item-not-an-object", "labels-a-list", "labels-a-set",
         "authz-rules-not-a-list"],
)  # fmt: skip
def test_a_malformed_object_is_a_read_error_exit_2_never_a_crash(
    mesh: Path, text: str, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (mesh / "zz-malformed.yaml").write_text(text, "utf-8")
    code, _, err = _run(["--manifests", str(mesh), "--fail-on", "error"], capsys)
    assert code == 2, err
    assert "could not read" in err and kind in err
