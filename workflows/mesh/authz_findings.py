"""Authorization findings (MG201-MG208) for a workload, from `authz`'s reading of its policies.

Kept apart from `authz` (which says which policies apply and what they match) so each reads as
one job: here, which facts are worth a person's attention and how to fix them.
"""

from __future__ import annotations

from workflows.mesh import findings, index, objects
from workflows.mesh.authz import (
    Action,
    WorkloadAuthz,
    action,
    enforced,
    rules,
    selecting_nothing,
    uses_identities,
    wildcard_identities,
)
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject


def findings_of(*, workload_authz: WorkloadAuthz, mode: MtlsMode) -> list[Finding]:
    """MG201-MG207 for a workload whose weakest effective mTLS mode is `mode`."""
    ref = workload_authz.workload.ref
    problems = []
    if not workload_authz.deny_by_default:
        problems.append(
            findings.make(
                findings.NO_DEFAULT_DENY,
                message=f"{ref}: no enforced ALLOW AuthorizationPolicy applies; every request "
                "is allowed",
                objects=(ref,),
                fix="the rbac phases add an allow-list for the callers seen, then enforce it",
            )
        )
    for policy in workload_authz.policies:
        pref = objects.ref(policy)
        act = action(policy)
        if objects.is_dry_run(policy):
            problems.append(
                findings.make(
                    findings.POLICY_DRY_RUN,
                    message=f"{pref} ({act.value}) is in dry-run: it logs, enforces nothing",
                    objects=(pref,),
                    fix="remove the istio.io/dry-run annotation once shadow results are clean",
                )
            )
        elif act is Action.AUDIT:
            problems.append(
                findings.make(
                    findings.POLICY_AUDIT,
                    message=f"{pref} is an AUDIT policy: it logs, enforces nothing",
                    objects=(pref,),
                    fix="use ALLOW or DENY to enforce it",
                )
            )
        policy_rules = rules(policy)
        if act is Action.ALLOW and any(wildcard_identities(r) for r in policy_rules):
            problems.append(
                findings.make(
                    findings.WILDCARD_PRINCIPAL,
                    message=f'{pref} allows principals or namespaces "*": any workload with a '
                    "mesh identity gets in",
                    objects=(pref,),
                    fix="list the callers' service accounts in principals",
                )
            )
        if policy in workload_authz.allow_all_by:
            problems.append(
                findings.make(
                    findings.ALLOW_ALL,
                    message=f"{pref} has a rule that matches every request (allow-all)",
                    objects=(pref,),
                    fix="replace the empty rule with rules naming callers and operations",
                )
            )
        identity = any(uses_identities(r) for r in policy_rules)
        if identity and mode not in (MtlsMode.STRICT, MtlsMode.UNKNOWN) and enforced(policy):
            if act in (Action.DENY, Action.CUSTOM):
                problems.append(
                    findings.make(
                        findings.DENY_BYPASSED_BY_PLAINTEXT,
                        message=f"{pref} ({act.value}) matches principals/namespaces but {ref} "
                        f"is {mode.value}: plaintext requests carry no identity and pass",
                        objects=(pref, ref),
                        fix='make mTLS STRICT for the workload, or deny notPrincipals ["*"]',
                    )
                )
            elif act is Action.ALLOW:
                problems.append(
                    findings.make(
                        findings.ALLOW_IDENTITY_WITHOUT_STRICT,
                        message=f"{pref} allows by principals/namespaces but {ref} is "
                        f"{mode.value}: plaintext callers are denied",
                        objects=(pref, ref),
                        fix="move callers to mTLS first (strict phase comes before rbac)",
                    )
                )
    return problems


def orphan_findings(*, snapshot: ClusterSnapshot, service: RawObject) -> list[Finding]:
    """MG208 for policies of the service's namespace that select no pod.

    Shown on the services whose selector shares a label with the policy's (the likely target);
    when none does, on every service of the namespace.
    """
    ns = objects.namespace(service)
    selector = {k: v for k, v in objects.as_map(objects.spec(service).get("selector")).items()}
    siblings = [
        {k: v for k, v in objects.as_map(objects.spec(s).get("selector")).items()}
        for s in index.of(snapshot).in_namespace(Kind.SERVICE, ns)
    ]
    problems = []
    for policy in selecting_nothing(snapshot=snapshot, namespace=ns):
        wanted = objects.selector_labels(policy) or {}
        overlaps = set(wanted.items()) & set(selector.items())
        anyone = any(set(wanted.items()) & set(s.items()) for s in siblings)
        if overlaps or not anyone:
            shown = ",".join(f"{k}={v}" for k, v in sorted(wanted.items()))
            problems.append(
                findings.make(
                    findings.POLICY_SELECTS_NOTHING,
                    message=f"{objects.ref(policy)} selects no pod ({shown})",
                    objects=(objects.ref(policy),),
                    fix="fix its selector to match the workload's pod labels, or delete it",
                )
            )
    return problems
