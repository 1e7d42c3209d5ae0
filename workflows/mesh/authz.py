"""Authorization posture per workload, with Istio's AuthorizationPolicy semantics.

Facts (istio/api security/v1beta1/authorization_policy.proto; istio.io concepts/security):

- A policy applies to a workload when it is in the workload's namespace or in the root
  namespace (mesh-wide), and has no selector or a selector matching the workload's labels.
  Policies with `targetRef(s)` attach to gateways and waypoints, not to sidecars.
- Evaluation order is CUSTOM, then DENY, then ALLOW. With no ALLOW policy a request is allowed;
  once any ALLOW policy applies, a request matching none of their rules is denied
  (deny-by-default). `spec: {}` is an ALLOW policy without rules: it allows nothing.
  `rules: [{}]` matches every request: allow-all.
- `istio.io/dry-run: "true"` and action AUDIT do not enforce anything.
- `principals` and `namespaces` come from the mTLS peer certificate, so plaintext requests
  never match them: a DENY rule on them lets plaintext through, an ALLOW rule on them refuses
  plaintext callers. Both matter while the workload's mTLS is not STRICT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import Workload, pods_in

# Operation fields whose only value `*` matches every request.
_OPERATION_FIELDS = ("hosts", "ports", "methods", "paths")
# Source fields read from the peer certificate (mTLS only), and the `when` keys that are too.
_IDENTITY_FIELDS = ("principals", "namespaces")
_IDENTITY_KEYS = frozenset({"source.principal", "source.namespace"})


class Action(StrEnum):
    """AuthorizationPolicy actions."""

    ALLOW = "ALLOW"  # requests matching a rule are allowed; the rest are denied
    DENY = "DENY"  # requests matching a rule are denied
    AUDIT = "AUDIT"  # requests matching a rule are logged; nothing is enforced
    CUSTOM = "CUSTOM"  # an external authorizer decides


class DefaultDecision(StrEnum):
    """What happens to a request no rule mentions (DESIGN.md, Audit JSON `authz.default`)."""

    DENY = "deny"  # an enforced ALLOW policy applies to every workload
    ALLOW = "allow"  # some workload has no enforced ALLOW policy
    UNKNOWN = "unknown"  # policies or pods could not be read, or there are no pods


@dataclass(frozen=True)
class WorkloadAuthz:
    """The AuthorizationPolicies of one workload, and what they add up to."""

    workload: Workload
    policies: tuple[RawObject, ...]

    @property
    def enforced_allow(self) -> tuple[RawObject, ...]:
        """Enforced ALLOW policies: any one of them makes the workload deny by default."""
        return tuple(p for p in self.policies if action(p) is Action.ALLOW and enforced(p))

    @property
    def deny_by_default(self) -> bool:
        """True when a request that no rule mentions is denied."""
        return bool(self.enforced_allow)

    @property
    def allow_all_by(self) -> tuple[RawObject, ...]:
        """Enforced ALLOW policies with a rule that matches every request."""
        return tuple(p for p in self.enforced_allow if any(map(matches_everything, rules(p))))


def action(policy: RawObject) -> Action:
    """The policy's action (ALLOW when absent)."""
    value = str(objects.spec(policy).get("action", "ALLOW")).upper()
    return Action(value) if value in Action.__members__ else Action.ALLOW


def enforced(policy: RawObject) -> bool:
    """False for dry-run (`istio.io/dry-run: "true"`) and AUDIT policies."""
    return not objects.is_dry_run(policy) and action(policy) is not Action.AUDIT


def rules(policy: RawObject) -> list[Mapping[str, object]]:
    """spec.rules (empty for `spec: {}`, which matches nothing)."""
    return [objects.as_map(r) for r in objects.as_list(objects.spec(policy).get("rules"))]


def attaches_to_sidecars(policy: RawObject) -> bool:
    """False for policies with targetRef(s): those bind gateways or waypoints."""
    policy_spec = objects.spec(policy)
    return not policy_spec.get("targetRef") and not policy_spec.get("targetRefs")


def applies(*, policy: RawObject, workload: Workload, root_namespace: str) -> bool:
    """True when the policy applies to the workload's sidecars."""
    ns = objects.namespace(policy)
    if ns not in (workload.namespace, root_namespace) or not attaches_to_sidecars(policy):
        return False
    selector = objects.selector_labels(policy)
    return selector is None or objects.selects(selector, workload.labels)


def workload_authz(*, snapshot: ClusterSnapshot, workload: Workload) -> WorkloadAuthz:
    """The policies that apply to a workload, sorted by namespace and name."""
    idx = index.of(snapshot)
    root = snapshot.root_namespace
    namespaces = [root] if workload.namespace == root else [root, workload.namespace]
    applying = [
        p
        for ns in namespaces
        for p in idx.in_namespace(Kind.AUTHORIZATION_POLICY, ns)
        if applies(policy=p, workload=workload, root_namespace=root)
    ]
    ordered = sorted(applying, key=lambda p: (objects.namespace(p), objects.name(p)))
    return WorkloadAuthz(workload=workload, policies=tuple(ordered))


def matches_everything(rule: Mapping[str, object]) -> bool:
    """True for a rule that matches every request (`{}`, or only `*` operations)."""
    if objects.as_list(rule.get("from")) or objects.as_list(rule.get("when")):
        return False
    operations = [
        objects.as_map(objects.as_map(t).get("operation")) for t in objects.as_list(rule.get("to"))
    ]
    if not operations:
        return True
    return any(_operation_matches_everything(op) for op in operations)


def wildcard_identities(rule: Mapping[str, object]) -> list[str]:
    """The `principals`/`namespaces` fields of a rule's sources that are exactly `*`."""
    found = []
    for source in objects.as_list(rule.get("from")):
        source_map = objects.as_map(objects.as_map(source).get("source"))
        for field_name in _IDENTITY_FIELDS:
            if "*" in [str(v) for v in objects.as_list(source_map.get(field_name))]:
                found.append(field_name)
    return found


def uses_identities(rule: Mapping[str, object]) -> bool:
    """True when the rule matches on peer principals or namespaces (which plaintext lacks)."""
    for source in objects.as_list(rule.get("from")):
        source_map = objects.as_map(objects.as_map(source).get("source"))
        if any(objects.as_list(source_map.get(f)) for f in _IDENTITY_FIELDS):
            return True
    return any(
        str(objects.as_map(c).get("key", "")) in _IDENTITY_KEYS
        and objects.as_list(objects.as_map(c).get("values"))
        for c in objects.as_list(rule.get("when"))
    )


def selecting_nothing(*, snapshot: ClusterSnapshot, namespace: str) -> list[RawObject]:
    """Policies of a namespace whose selector matches no live pod (root: in any namespace)."""
    scope = None if namespace == snapshot.root_namespace else namespace
    pod_labels = [objects.labels(pod) for pod in pods_in(snapshot=snapshot, namespace=scope)]
    orphans = []
    for policy in index.of(snapshot).in_namespace(Kind.AUTHORIZATION_POLICY, namespace):
        selector = objects.selector_labels(policy)
        if selector is None:
            continue
        if not any(objects.selects(selector, labels) for labels in pod_labels):
            orphans.append(policy)
    return sorted(orphans, key=objects.name)


def policy_name(policy: RawObject) -> str:
    """`ns/name`, as the audit report lists policies."""
    return f"{objects.namespace(policy)}/{objects.name(policy)}"


def _operation_matches_everything(operation: Mapping[str, object]) -> bool:
    if any(key.startswith("not") and objects.as_list(v) for key, v in operation.items()):
        return False
    return all(
        [str(v) for v in objects.as_list(operation.get(f))] in ([], ["*"])
        for f in _OPERATION_FIELDS
    )


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
