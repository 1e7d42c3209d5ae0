"""`meshgate metrics` against a real Prometheus: the Metrics JSON, the text form, usage errors."""

from __future__ import annotations

import json

import pytest

from bot.cli.main import main
from bot.metrics.local_server import LocalPrometheus
from tests.support.prometheus import (
    CannedServer,
    expected_mtls,
    expected_quantile,
    expected_rate,
)
from tests.support.redis_server import free_port

AT = "2026-11-25T10:30:00Z"


def test_json_is_the_metrics_json_of_the_design(
    prometheus: LocalPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "metrics",
            "shop/checkout",
            "--prometheus-url",
            prometheus.url,
            "--at",
            AT,
            "--format",
            "json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["schema"] == "meshgate.metrics/v1" and data["service"] == "shop/checkout"
    assert data["at"] == AT and data["window"] == "30m"
    assert data["request_rate"] == pytest.approx(expected_rate("shop", "checkout"))
    assert data["mtls_share"] == pytest.approx(expected_mtls("shop", "checkout"))
    assert data["latency_ms"]["p99"] == pytest.approx(expected_quantile(0.99, "shop", "checkout"))
    assert data["plaintext_callers"][0]["workload"] == "batch"


def test_text_names_numbers_and_says_no_data(
    prometheus: LocalPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", "shop/checkout", "--prometheus-url", prometheus.url, "--at", AT]) == 0
    out = capsys.readouterr().out
    assert "metrics of shop/checkout at 2026-11-25T10:30:00Z over 30m" in out
    assert f"{expected_mtls('shop', 'checkout'):.2%}" in out
    assert "legacy/batch (2.5 req/s)" in out
    assert main(["metrics", "shop/ghost", "--prometheus-url", prometheus.url, "--at", AT]) == 0
    ghost = capsys.readouterr().out
    assert "mTLS share          no data" in ghost and " 0 req/s" not in ghost


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["metrics", "checkout", "--prometheus-url", "http://p:9090"], "expected NS/NAME"),
        (["metrics", "shop/checkout", "--prometheus-url", "http://p:9090", "--at", "yesterday"],
         "RFC 3339"),
        (["metrics", "shop/checkout", "--prometheus-url", "http://p:9090", "--at",
          "2026-11-25T10:00:00"], "time zone"),
        (["metrics", "shop/checkout", "--prometheus-url", "http://p:9090", "--window", "soon"],
         "duration like 30m"),
        (["metrics", "shop/checkout", "--prometheus-url", "p:9090"], "http(s)://HOST"),
        (["metrics", "shop/checkout"], "MESHGATE_PROMETHEUS_URL"),
    ],
    ids=["service", "at", "naive-at", "window", "url", "no-url"],
)  # fmt: skip
def test_usage_errors_say_what_to_do(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MESHGATE_PROMETHEUS_URL", raising=False)
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def test_prometheus_down_prints_unavailable_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["metrics", "shop/checkout", "--prometheus-url", url, "--at", AT]) == 2
    captured = capsys.readouterr()
    assert "unavailable (cannot reach Prometheus" in captured.out
    assert "could not be asked" in captured.err


def test_credentials_come_from_the_environment_and_stay_out_of_the_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHGATE_PROMETHEUS_BEARER_TOKEN", "tok-123-secret")
    with CannedServer(401, b"Unauthorized") as server:
        assert main(["metrics", "shop/checkout", "--prometheus-url", server.url, "--at", AT]) == 2
    captured = capsys.readouterr()
    assert server.authorization[0] == "Bearer tok-123-secret"
    assert "refused meshgate's credentials (HTTP 401)" in captured.err
    assert "tok-123-secret" not in captured.out + captured.err
