"""Playbooks: the packaged default loads, and a broken one is reported line by line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli
from tests.support.playbooks import ATTEST_ONLY
from workflows import playbook
from workflows.playbook import PlaybookInvalid


def test_default_playbook_has_the_designed_phases_in_order() -> None:
    book = playbook.default()
    assert [p.id for p in book.phases] == [
        "assess", "inject", "observe", "route", "egress", "loadtest",
        "certs", "dns", "permissive", "strict", "rbac-dry-run", "rbac",
    ]  # fmt: skip
    approvals = {p.id: p.approvals.required for p in book.phases}
    assert approvals["strict"] == 2 and approvals["rbac"] == 2 and approvals["assess"] == 0
    assert all(not p.approvals.allow_self_approval for p in book.phases)


BROKEN = [
    pytest.param(
        ATTEST_ONLY.replace("stage: assess", "stage: asses"),
        [(5, "phases.0.stage", "'assess', 'implement' or 'release'")],
        id="bad-enum",
    ),
    pytest.param(
        ATTEST_ONLY.replace("    title: Prepare\n", "    title: Prepare\n    colour: red\n"),
        [(7, "phases.0.colour", "unknown field")],
        id="unknown-field",
    ),
    pytest.param(
        ATTEST_ONLY.replace("title: The team is ready, attest: true", "title: x"),
        [(8, "phases.0.gate.0", "exactly one of")],
        id="item-without-kind",
    ),
    pytest.param(
        ATTEST_ONLY.replace("expires_after: 1h", "expires_after: soon"),
        [(17, "phases.1.approvals.expires_after", "duration like 30m")],
        id="bad-duration",
    ),
    pytest.param(
        ATTEST_ONLY.replace("expires_after: 1h", "expires_after: 99999999999999999999h"),
        [(17, "phases.1.approvals.expires_after",
          "a duration must be between 0s and 365d, got 99999999999999999999h")],
        id="duration-too-large-to-compute",
    ),
    pytest.param(
        ATTEST_ONLY.replace("expires_after: 1h", "expires_after: 99999999d"),
        [(17, "phases.1.approvals.expires_after", "between 0s and 365d, got 99999999d")],
        id="duration-past-any-date",
    ),
    pytest.param(
        ATTEST_ONLY.replace("expires_after: 1h", "expires_after: -60"),
        [(17, "phases.1.approvals.expires_after", "between 0s and 365d, got -1m")],
        id="negative-seconds",
    ),
    pytest.param(
        ATTEST_ONLY.replace("mode: STRICT", "mode: STRIKT").replace("required: 2", "required: -1"),
        [
            (16, "phases.1.change.mode", "'PERMISSIVE' or 'STRICT'"),
            (24, "phases.2.approvals.required", "greater than or equal to 0"),
        ],
        id="two-errors-both-reported",
    ),
    pytest.param(
        ATTEST_ONLY.replace("id: lock", "id: switch"),
        [(3, "phases", "repeated: switch")],
        id="duplicate-phase-id",
    ),
    pytest.param(
        ATTEST_ONLY.replace("check: ports-named", "check: ports-nmaed"),
        [(15, "phases.1.gate.1.check", "unknown check 'ports-nmaed'; did you mean 'ports-named'?")],
        id="unknown-check-id",
    ),
    pytest.param(
        ATTEST_ONLY.replace("{id: announced, title: The change was announced, attest: true}",
                            "{id: rate, title: Rate, metric: {metric: request_ratee, min: 1}}"),
        [(14, "phases.1.gate.0.metric.metric", "'request_rate'")],
        id="unknown-metric",
    ),
    pytest.param(
        ATTEST_ONLY.replace("check: ports-named", "check: nope").replace("assess", "x"),
        [(5, "phases.0.stage", "'assess'"), (15, "phases.1.gate.1.check", "unknown check 'nope'")],
        id="unknown-check-next-to-a-schema-error",
    ),
    pytest.param(
        ATTEST_ONLY.replace("phases:\n", "access: {abort: everyone}\nphases:\n"),
        [(3, "access.abort", "'approvers-or-starter', 'approvers' or 'anyone'")],
        id="unknown-access-rule",
    ),
    pytest.param("schema: [unclosed\n", [(2, "", "expected")], id="yaml-syntax"),
    pytest.param("- just\n- a list\n", [(1, "", "expected a mapping")], id="not-a-mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_playbooks_report_each_problem_with_line_and_field(
    text: str, expected: list[tuple[int, str, str]]
) -> None:
    with pytest.raises(PlaybookInvalid) as invalid:
        playbook.parse(text, source="custom.yaml")
    issues = invalid.value.issues
    assert len(issues) == len(expected), [str(i) for i in issues]
    for issue, (line_no, field, says) in zip(issues, expected, strict=True):
        assert (issue.line, issue.field) == (line_no, field), str(issue)
        assert says in issue.message
    assert f"custom.yaml:line {expected[0][0]}" in str(invalid.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("30m", timedelta(minutes=30)), ("24h", timedelta(days=1)),
     ("2d", timedelta(days=2))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert playbook.parse_duration(text) == expected
    assert playbook.parse_duration(playbook.format_duration(expected)) == expected


def test_access_rules_default_to_the_careful_ones_and_a_playbook_may_relax_them() -> None:
    assert playbook.default().access.abort is playbook.AbortRule.APPROVERS_OR_STARTER
    assert playbook.default().access.attest is playbook.AttestRule.NOT_REQUESTER
    text = ATTEST_ONLY.replace("phases:\n", "access: {abort: anyone, attest: anyone}\nphases:\n")
    relaxed = playbook.parse(text, source="custom.yaml").access
    assert (relaxed.abort, relaxed.attest) == (
        playbook.AbortRule.ANYONE,
        playbook.AttestRule.ANYONE,
    )


def test_a_custom_check_registry_decides_which_ids_are_known() -> None:
    text = ATTEST_ONLY.replace("check: ports-named", "check: site-specific")
    book = playbook.parse(text, source="custom.yaml", checks={"site-specific"})
    assert book.phases[1].gate[1].check == "site-specific"


def test_validate_on_the_command_line_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(ATTEST_ONLY.replace("check: ports-named", "check: ports-nmaed"), "utf-8")
    assert cli.main(["playbook", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:line 15: phases.1.gate.1.check: unknown check 'ports-nmaed'" in err
    path.write_text(ATTEST_ONLY.replace("expires_after: 1h", "expires_after: " + "9" * 20 + "h"))
    assert cli.main(["playbook", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:line 17: phases.1.approvals.expires_after: a duration must be between" in err
    path.write_text(ATTEST_ONLY, "utf-8")
    assert cli.main(["playbook", "validate", str(path)]) == 0
