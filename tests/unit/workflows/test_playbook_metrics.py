"""Metric items in playbooks: custom PromQL with placeholders, bounds, not_worse; errors by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from workflows import playbook
from workflows.playbook import PlaybookInvalid

CUSTOM = """\
schema: meshgate.playbook/v1
name: custom-metrics
phases:
  - id: canary
    stage: implement
    title: Canary analysis
    gate:
      - id: error-budget
        title: Few errors
        metric:
          query: 'sum(rate(errors{{namespace="{{namespace}}", app="{{service}}"}}[{{window}}]))'
          max: 0.1
          window: 10m
      - id: mtls
        title: mTLS
        metric: {{metric: {metric}, min: 0.999}}
    approvals: {{required: 0}}
"""


def custom(metric: str = "mtls_share", query: str = "") -> str:
    text = CUSTOM.format(metric=metric)
    if query:
        text = text.replace(
            'sum(rate(errors{namespace="{namespace}", app="{service}"}[{window}]))',
            query,
        )
    return text


def test_a_custom_query_item_parses() -> None:
    book = playbook.parse(custom(), source="custom.yaml")
    gate = book.phases[0].gate[0].metric
    assert gate is not None and gate.query is not None and gate.metric is None


BROKEN = [
    pytest.param(custom(metric="mtls_shaer"), 16, "phases.0.gate.1.metric.metric", "'mtls_share'",
                 id="unknown-metric-name"),
    pytest.param(custom(query='sum(rate(x{ns="{namespce}"}[{window}]))'), 11,
                 "phases.0.gate.0.metric.query", "unknown placeholder {namespce}",
                 id="unknown-placeholder"),
    pytest.param(custom(query='sum(rate(x{ns="{namespace}"}[{window}])'), 11,
                 "phases.0.gate.0.metric.query", "unbalanced", id="unbalanced-parentheses"),
    pytest.param(custom().replace("max: 0.1", "not_worse: true"), 10,
                 "phases.0.gate.0.metric", "not_worse", id="not-worse-on-custom-query"),
    pytest.param(custom().replace("          max: 0.1\n", ""), 10,
                 "phases.0.gate.0.metric", "needs `min`, `max`", id="no-bound"),
    pytest.param(custom().replace("{metric: mtls_share,", "{metric: mtls_share, query: 'up',"),
                 16, "phases.0.gate.1.metric", "one of `metric` or `query`", id="metric-and-query"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "field", "says"), BROKEN)
def test_metric_items_are_validated_with_lines(text: str, line: int, field: str, says: str) -> None:
    with pytest.raises(PlaybookInvalid) as invalid:
        playbook.parse(text, source="custom.yaml")
    issues = [(i.line, i.field, i.message) for i in invalid.value.issues]
    assert any((li, fi) == (line, field) and says in message for li, fi, message in issues), issues


def test_playbook_validate_names_the_line_of_an_unknown_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(custom(query='sum(rate(x{ns="{namespce}"}[{window}]))'))
    assert main(["playbook", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:line 11: phases.0.gate.0.metric.query" in err
    assert "unknown placeholder {namespce}" in err and "{namespace}, {service}, {window}" in err


def test_default_playbook_metric_items_mean_what_they_say() -> None:
    book = playbook.default()
    by_id = {(p.id, i.id): i.metric for p in book.phases for i in (*p.gate, *p.verify) if i.metric}
    seen = by_id[("observe", "istio-metrics")]
    assert seen is not None and seen.above == 0.0 and seen.min is None  # a rate above zero
    share = by_id[("strict", "mtls-share")]
    assert share is not None and share.min == 0.999
    callers = by_id[("strict", "no-plaintext-callers")]
    assert callers is not None and callers.max == 0
    kept = by_id[("inject", "success-rate-kept")]
    # no "before" can exist at injection: the floor lets a healthy service pass
    assert kept is not None and kept.not_worse and kept.min is not None and kept.margin > 0
