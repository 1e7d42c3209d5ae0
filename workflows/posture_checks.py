"""The playbook's automated checks, implemented over mesh posture.

Maps check ids used in the default playbook to pure functions of (snapshot, service).
Ids missing from CHECKS report `unknown` (see workflows.checks.run).
"""

from __future__ import annotations

from workflows.checks import CheckFunction

CHECKS: dict[str, CheckFunction] = {}
