"""The playbook's automated checks: check id -> pure function of (snapshot, service).

One module per concern holds the checks and their rules (`assess_checks`, `inject_checks`,
`routing_checks`, `mtls_checks`, `authz_checks`; `judging` holds what they share). Each reads
only the kinds it needs: one of them unreadable gives `unknown` naming the kind, a service
missing from the snapshot gives `fail` with reason "service not found", and a pass says what
was seen. `meshgate playbook validate` rejects ids missing from CHECKS; `checks.run` reports
them `unknown`.
"""

from __future__ import annotations

from workflows.gates import assess_checks, authz_checks, inject_checks, mtls_checks, routing_checks
from workflows.gates.checks import CheckFunction

CHECKS: dict[str, CheckFunction] = {
    **assess_checks.CHECKS,
    **inject_checks.CHECKS,
    **routing_checks.CHECKS,
    **mtls_checks.CHECKS,
    **authz_checks.CHECKS,
}
