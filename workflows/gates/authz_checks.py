"""Checks of the rbac phases: the dry-run allow-list is in place, then deny-by-default holds.

`deny-by-default` holds only when an enforced ALLOW policy applies to every workload AND none
of the enforced ALLOW policies lets everything in: ALLOW policies are ORed, so one allow-all
(`rules: [{}]`, only `*` operations, or any mesh identity through `principals: ["*"]`) next
to a careful allow-list undoes it. Allow-all is judged per filter chain (`authz.Chain`).
"""

from __future__ import annotations

from workflows.gates.checks import CheckFunction
from workflows.gates.judging import workload_check
from workflows.mesh import authz, objects, posture
from workflows.mesh.workload_posture import WorkloadPosture


def _judge_deny_by_default(wp: WorkloadPosture) -> str | None:
    if not wp.authz.deny_by_default:
        unenforced = [authz.policy_name(p) for p in wp.authz.policies if not authz.enforced(p)]
        extra = f" (not enforced: {', '.join(unenforced)})" if unenforced else ""
        return f"{wp.workload.ref}: no enforced ALLOW AuthorizationPolicy applies{extra}"
    allow_all = [authz.policy_name(p) for p in wp.authz.allow_all_by]
    if allow_all:
        return f"{wp.workload.ref}: {', '.join(allow_all)} allows every request (allow-all)"
    any_peer = [authz.policy_name(p) for p in wp.authz.any_peer_by]
    if any_peer:
        return (
            f"{wp.workload.ref}: {', '.join(any_peer)} allows any mesh identity every request "
            '(principals, namespaces or trustDomains "*")'
        )
    return None


def _judge_dry_run(wp: WorkloadPosture) -> str | None:
    present = [
        p
        for p in wp.authz.policies
        if objects.is_dry_run(p) and authz.action(p) is authz.Action.ALLOW
    ]
    if present:
        return None
    return f'{wp.workload.ref}: no ALLOW AuthorizationPolicy with istio.io/dry-run: "true" applies'


CHECKS: dict[str, CheckFunction] = {
    "authz-dry-run-present": workload_check(
        posture.AUTHZ_KINDS,
        _judge_dry_run,
        ok="a dry-run ALLOW AuthorizationPolicy applies to",
        fix="the rbac-dry-run phase applies it; check its selector matches the pods",
    ),
    "deny-by-default": workload_check(
        posture.AUTHZ_KINDS,
        _judge_deny_by_default,
        ok="an enforced ALLOW AuthorizationPolicy without allow-all applies to",
        fix="apply the enforced allow-list (rbac phase) and remove allow-all rules; dry-run "
        "policies do not count",
    ),
}
