"""Authorization posture per workload, with Istio's AuthorizationPolicy semantics.

Facts (istio/api security/v1beta1/authorization_policy.proto; istio.io concepts/security):

- A policy applies to a workload when it is in the workload's namespace or in the root
  namespace (mesh-wide), and has no selector or a selector matching the workload's labels.
  Policies with `targetRef(s)` attach to gateways and waypoints, not to sidecars.
- Evaluation order is CUSTOM, then DENY, then ALLOW. With no ALLOW policy a request is allowed;
  once any ALLOW policy applies, a request matching none of their rules is denied
  (deny-by-default). `spec: {}` is an ALLOW policy without rules: it allows nothing.
  `rules: [{}]` matches every request: allow-all.
- `istio.io/dry-run` parsed true (Go's strconv.ParseBool, as Istio's builder parses it) and
  action AUDIT do not enforce anything.
- `principals`, `namespaces`, `serviceAccounts` and `trustDomains` (and the `source.*` `when`
  keys for them) come from the mTLS peer certificate (the builder's principal generators,
  pilot/pkg/security/authz/model/generator.go, all wrap `principalAuthenticated`), so plaintext
  requests never match them: a DENY rule on them lets plaintext through, an ALLOW rule on them
  refuses plaintext callers. Both matter while the workload's mTLS is not STRICT. `"*"` in
  principals, namespaces or trustDomains matches any peer with a mesh identity.
- The sidecar builds rules per filter chain. On a TCP chain, an ALLOW rule with an HTTP-only
  field (`hosts`, `methods`, `paths`, `requestPrincipals`, `request.*` keys) is dropped
  (model.go `checkError` returns the error for ALLOW, builder.go skips the rule), so it allows
  nothing there; a port gets a TCP chain unless its protocol is HTTP (`protocols`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflows.mesh import index, objects
from workflows.mesh.protocols import Protocol
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import Workload, pods_in

# Operation fields whose only value `*` matches every request (all HTTP-only; `ports` must be
# numbers: the port generator rejects `*`).
_OPERATION_FIELDS = ("hosts", "methods", "paths")
_HTTP_OPERATION_FIELDS = frozenset(
    {"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}
)
_HTTP_SOURCE_FIELDS = frozenset({"requestPrincipals", "notRequestPrincipals"})
_HTTP_KEY_PREFIXES = ("request.",)
# Source fields read from the peer certificate (mTLS only), and the `when` keys that are too.
_IDENTITY_FIELDS = ("principals", "namespaces", "serviceAccounts", "trustDomains")
_IDENTITY_KEYS = frozenset(
    {"source.principal", "source.namespace", "source.serviceAccount", "source.trustDomain"}
)
# Fields where `*` is a presence match: any authenticated peer (serviceAccounts quote `*`).
_WILDCARD_FIELDS = ("principals", "namespaces", "trustDomains")


class Action(StrEnum):
    """AuthorizationPolicy actions."""

    ALLOW = "ALLOW"  # requests matching a rule are allowed; the rest are denied
    DENY = "DENY"  # requests matching a rule are denied
    AUDIT = "AUDIT"  # requests matching a rule are logged; nothing is enforced
    CUSTOM = "CUSTOM"  # an external authorizer decides


class Chain(StrEnum):
    """The sidecar's inbound filter chains, which Istio builds authorization rules for."""

    HTTP = "http"  # HTTP-family and sniffed ports
    TCP = "tcp"  # every port that is not HTTP (sniffed ones too)


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
    chains: frozenset[Chain] = frozenset({Chain.HTTP, Chain.TCP})

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
        """Enforced ALLOW policies with a rule that matches every request on some chain."""
        return tuple(
            p
            for p in self.enforced_allow
            if any(matches_everything(r, chain=c) for r in rules(p) for c in self.chains)
        )

    @property
    def any_peer_by(self) -> tuple[RawObject, ...]:
        """Enforced ALLOW policies with a rule that lets any mesh identity do anything."""
        return tuple(
            p
            for p in self.enforced_allow
            if any(
                matches_everything(without_wildcard_identities(r), chain=c)
                for r in rules(p)
                for c in self.chains
            )
        )


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


def workload_authz(
    *, snapshot: ClusterSnapshot, workload: Workload, chains: frozenset[Chain] | None = None
) -> WorkloadAuthz:
    """The policies that apply to a workload, sorted by namespace and name.

    `chains` are the filter chains its ports get (both when unknown).
    """
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
    return WorkloadAuthz(
        workload=workload,
        policies=tuple(ordered),
        chains=chains or frozenset({Chain.HTTP, Chain.TCP}),
    )


def chains_of(ports: Iterable[Protocol]) -> frozenset[Chain]:
    """The filter chains a sidecar builds for ports of these protocols (both when none)."""
    found = set()
    for protocol in ports:
        if protocol.is_http or protocol.is_sniffed:
            found.add(Chain.HTTP)
        if not protocol.is_http:
            found.add(Chain.TCP)
    return frozenset(found) or frozenset({Chain.HTTP, Chain.TCP})


def matches_everything(rule: Mapping[str, object], *, chain: Chain = Chain.HTTP) -> bool:
    """True for a rule that matches every request on `chain` (`{}`, or only `*` operations).

    On the TCP chain a rule with an HTTP-only field is dropped, so it matches nothing.
    """
    if chain is Chain.TCP and http_only(rule):
        return False
    if objects.as_list(rule.get("from")) or objects.as_list(rule.get("when")):
        return False
    operations = [
        objects.as_map(objects.as_map(t).get("operation")) for t in objects.as_list(rule.get("to"))
    ]
    if not operations:
        return True
    return any(_operation_matches_everything(op) for op in operations)


def http_only(rule: Mapping[str, object]) -> bool:
    """True when the rule uses a field only HTTP requests have (the generators' "HTTP only")."""
    for target in objects.as_list(rule.get("to")):
        operation = objects.as_map(objects.as_map(target).get("operation"))
        if any(objects.as_list(operation.get(f)) for f in _HTTP_OPERATION_FIELDS):
            return True
    for source in objects.as_list(rule.get("from")):
        source_map = objects.as_map(objects.as_map(source).get("source"))
        if any(objects.as_list(source_map.get(f)) for f in _HTTP_SOURCE_FIELDS):
            return True
    return any(
        str(objects.as_map(c).get("key", "")).startswith(_HTTP_KEY_PREFIXES)
        for c in objects.as_list(rule.get("when"))
    )


def wildcard_identities(rule: Mapping[str, object]) -> list[str]:
    """Identity fields of a rule's sources holding `*`: any peer with a mesh identity matches."""
    found = []
    for source in objects.as_list(rule.get("from")):
        source_map = objects.as_map(objects.as_map(source).get("source"))
        for field_name in _WILDCARD_FIELDS:
            if "*" in [str(v) for v in objects.as_list(source_map.get(field_name))]:
                found.append(field_name)
    return found


def without_wildcard_identities(rule: Mapping[str, object]) -> Mapping[str, object]:
    """The rule without its `from` when one source only asks for a `*` identity (any peer).

    Sources are ORed, so one source that any mesh identity meets makes `from` match any peer.
    """
    for source in objects.as_list(rule.get("from")):
        source_map = objects.as_map(objects.as_map(source).get("source"))
        set_fields = {k for k, v in source_map.items() if objects.as_list(v)}
        wild = {f for f in _WILDCARD_FIELDS if "*" in map(str, objects.as_list(source_map.get(f)))}
        if set_fields and set_fields <= wild:
            return {k: v for k, v in rule.items() if k != "from"}
    return rule


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
    # Any other field set (ports, a `not...` field) narrows the operation.
    if any(key not in _OPERATION_FIELDS and objects.as_list(v) for key, v in operation.items()):
        return False
    return all(
        [str(v) for v in objects.as_list(operation.get(f))] in ([], ["*"])
        for f in _OPERATION_FIELDS
    )
