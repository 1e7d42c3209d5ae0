"""Charts: a valid PNG with the four panels and phase marks, from a real Prometheus's history,
uploaded into a thread through the Slack stand-in's external upload flow."""

from __future__ import annotations

import io
import struct
from datetime import timedelta

import pytest
from matplotlib.image import imread
from slack_sdk import WebClient

from bot.metrics import charts
from bot.metrics.local_server import LocalPrometheus
from bot.metrics.source import PrometheusMetrics
from bot.slack import charts_upload
from tests.support.prometheus import AT, expected_rate
from tests.support.slack_api import SlackWebStandIn
from workflows.gates.metrics_snapshot import MetricsHistory, Target
from workflows.naming import ServiceRef

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MARKS = [
    charts.PhaseMark(at=AT - timedelta(minutes=40), label="permissive"),
    charts.PhaseMark(at=AT - timedelta(minutes=10), label="strict"),
]


@pytest.fixture(scope="module")
def history(prometheus: LocalPrometheus) -> MetricsHistory:
    source = PrometheusMetrics.from_url(prometheus.url)
    found = source.history(
        target=Target(service=ServiceRef("shop", "checkout")),
        start=AT - timedelta(hours=1),
        end=AT,
        step=timedelta(minutes=1),
        window=timedelta(minutes=5),
    )
    source.close()
    return found


def test_the_chart_is_a_png_with_four_panels_and_the_phase_changes(
    history: MetricsHistory,
) -> None:
    data = charts.png(history, marks=MARKS)
    assert data.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (900, 800)
    assert imread(io.BytesIO(data)).shape[:2] == (800, 900)
    fig = charts.figure(history, marks=MARKS)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [
        "Request rate (req/s)",
        "Success rate (%)",
        "p99 latency (ms)",
        "mTLS share (%)",
    ]
    rate_line = fig.axes[0].get_lines()[0]
    ys = [float(y) for y in rate_line.get_ydata()]  # type: ignore[arg-type, union-attr]
    assert ys == pytest.approx([expected_rate("shop", "checkout")] * 61)
    for ax in fig.axes:
        marks = [line for line in ax.get_lines() if line.get_label() in ("permissive", "strict")]
        assert len(marks) == 2
    assert [t.get_text() for t in fig.axes[0].texts] == ["permissive", "strict"]


def test_a_service_without_data_says_no_data_instead_of_a_flat_line() -> None:
    empty = MetricsHistory(
        service="shop/ghost",
        times=(AT,),
        request_rate=(None,),
        success_rate=(None,),
        latency_p99_ms=(None,),
        mtls_share=(None,),
        unavailable={"mtls_share": "Prometheus at http://p did not answer within 2 s"},
    )
    fig = charts.figure(empty)
    assert [ax.texts[0].get_text() for ax in fig.axes] == [
        "no data",
        "no data",
        "no data",
        "unavailable: Prometheus at http://p did not answer within 2 s",
    ]
    assert all(not ax.get_lines() for ax in fig.axes)
    assert charts.png(empty).startswith(PNG_MAGIC)


def test_the_chart_goes_into_the_thread_through_the_external_upload_flow(
    slack_api: SlackWebStandIn, history: MetricsHistory
) -> None:
    client = WebClient(token="xoxb-test-token", base_url=slack_api.base_url)
    data = charts.png(history, marks=MARKS)
    file_id = charts_upload.upload_chart(
        client,
        channel="C111",
        thread_ts="1700000000.000100",
        png=data,
        filename="shop-checkout.png",
        title="shop/checkout over the last hour",
        comment="after `strict`",
    )
    assert [c.method for c in slack_api.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    record = slack_api.files[file_id]
    assert record["content"] == data
    assert record["channels"] == ["C111"]
    assert record["thread_ts"] == "1700000000.000100"
    assert record["title"] == "shop/checkout over the last hour"


def test_a_refused_upload_names_slacks_error_without_the_token(
    slack_api: SlackWebStandIn,
) -> None:
    slack_api.accepted_tokens = frozenset({"xoxb-the-right-one"})
    client = WebClient(token="xoxb-revoked-token", base_url=slack_api.base_url)
    with pytest.raises(charts_upload.ChartUploadFailed) as failed:
        charts_upload.upload_chart(
            client, channel="C111", thread_ts="1.2", png=b"png", filename="x.png", title="x"
        )
    assert str(failed.value) == "Slack refused the chart upload: invalid_auth"
    assert not slack_api.files
