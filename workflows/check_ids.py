"""The ids of the automated checks meshgate implements, as data.

The playbook validator rejects any other id (a misspelt check would otherwise be `unknown`
forever); the registry in workflows/gates/posture_checks.py implements exactly these, which a
test keeps true. Kept apart so the playbook, at the bottom of the domain, needs no check code.
"""

from __future__ import annotations

KNOWN: frozenset[str] = frozenset(
    {
        "authz-dry-run-present",
        "certificates-ready",
        "control-plane-ready",
        "deny-by-default",
        "mtls-at-least-permissive",
        "mtls-strict",
        "no-host-network",
        "no-tls-conflict",
        "no-uid-1337",
        "pods-ready",
        "pods-running",
        "ports-named",
        "serviceentries-declared",
        "sidecars-ready",
        "subsets-select-pods",
        "virtualservice-bound",
        "workloads-injected",
    }
)
