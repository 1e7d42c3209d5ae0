"""The finding catalogue: stable, unique codes, each documented with its severity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflows.mesh import findings

DOC = Path(__file__).resolve().parents[3] / "docs" / "findings.md"
ROW = re.compile(r"^\| (MG\d{3}) \| (error|warning|info) \|", re.MULTILINE)


def test_codes_are_unique_and_grouped() -> None:
    codes = [entry.code for entry in findings.CATALOGUE]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"MG[0-4]\d\d", c) for c in codes)


def test_docs_list_every_code_with_its_severity_and_nothing_else() -> None:
    documented = dict(ROW.findall(DOC.read_text("utf-8")))
    assert documented == {e.code: e.severity.value for e in findings.CATALOGUE}


@pytest.mark.parametrize(
    ("severity", "rank"),
    [
        pytest.param(findings.Severity.ERROR, 0, id="error-first"),
        pytest.param(findings.Severity.WARNING, 1, id="warning"),
        pytest.param(findings.Severity.INFO, 2, id="info-last"),
    ],
)
def test_findings_sort_by_severity(severity: findings.Severity, rank: int) -> None:
    made = findings.Finding(code="MG999", severity=severity, message="m")
    assert findings.sort_key(made)[0] == rank


def test_make_takes_severity_from_the_catalogue() -> None:
    made = findings.make(findings.UID_1337, message="x", fix="y")
    assert (made.code, made.severity) == ("MG306", findings.Severity.ERROR)
