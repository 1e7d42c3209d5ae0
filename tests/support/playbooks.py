"""Small playbooks for tests, as YAML text, so tests read like the files users write."""

from __future__ import annotations

from workflows import playbook
from workflows.playbook import Playbook

# Three phases, gates made only of attestations: what issue 2's "done means" describes.
ATTEST_ONLY = """\
schema: meshgate.playbook/v1
name: attest-only
phases:
  - id: prepare
    stage: assess
    title: Prepare
    gate:
      - {id: ready, title: The team is ready, attest: true}
    approvals: {required: 0}
  - id: switch
    stage: release
    title: Switch to STRICT
    gate:
      - {id: announced, title: The change was announced, attest: true}
      - {id: nice-to-have, title: Optional check, check: ports-named, required: false}
    change: {kind: peer-authentication, mode: STRICT}
    approvals: {required: 1, users: [bob, carol], expires_after: 1h}
  - id: lock
    stage: release
    title: Lock down
    gate:
      - {id: done, title: Everything done, attest: true}
    change: {kind: authorization-policy, dry_run: true}
    approvals: {required: 2, users: [bob], groups: [SPLATFORM]}
"""


def attest_only() -> Playbook:
    return playbook.parse(ATTEST_ONLY, source="attest-only.yaml")
