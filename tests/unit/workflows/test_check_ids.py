"""The ids the playbook validator accepts are exactly the checks meshgate implements."""

from __future__ import annotations

from workflows import check_ids
from workflows.gates import posture_checks


def test_every_known_id_is_implemented_and_every_check_is_known() -> None:
    assert set(posture_checks.CHECKS) == check_ids.KNOWN
