"""Effective mutual TLS per workload and container port, with Istio's PeerAuthentication rules.

Istio composes at most three PeerAuthentications for a workload (istio/istio
pilot/pkg/security/authn/policy_applier.go, ComposePeerAuthentication, over the configs
pilot/pkg/model/authentication.go getConfigsForWorkload selects; istio.io concepts/security):

- the mesh policy: in the root namespace, without a selector;
- the namespace policy: in the workload's namespace, without a selector;
- the workload policy: in the workload's namespace, with a selector matching its labels.

In each scope the oldest policy by creationTimestamp wins (ties by name, then namespace); the
others are shadowed. The mode starts at PERMISSIVE (no policy at all) and each scope, from mesh
to workload, replaces it unless that scope's mode is UNSET. `portLevelMtls` of the workload
policy then sets single container ports (UNSET there inherits the workload's mode). A policy
with a selector in the root namespace, and `portLevelMtls` on a policy without a selector, are
ignored by Istio; meshgate reports them. Also here: DestinationRule TLS settings that break
traffic to a STRICT server (DISABLE, SIMPLE, MUTUAL; ISTIO_MUTUAL or none are fine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import Workload

CLUSTER_DOMAIN = index.CLUSTER_DOMAIN
"""Kubernetes' default cluster domain suffix for Service hosts."""


class MtlsMode(StrEnum):
    """Effective mTLS mode on a port, from strongest to weakest."""

    STRICT = "STRICT"  # only mutual TLS is accepted
    PERMISSIVE = "PERMISSIVE"  # mutual TLS and plaintext are accepted
    DISABLE = "DISABLE"  # only plaintext (policy disables mTLS, or no sidecar terminates it)
    UNKNOWN = "UNKNOWN"  # could not be decided (no pods, read error)


_RANK = {MtlsMode.DISABLE: 0, MtlsMode.PERMISSIVE: 1, MtlsMode.STRICT: 2}
_POLICY_MODES = {
    "STRICT": MtlsMode.STRICT,
    "PERMISSIVE": MtlsMode.PERMISSIVE,
    "DISABLE": MtlsMode.DISABLE,
}
# DestinationRule client TLS modes that do not speak Istio mTLS to a sidecar.
CONFLICTING_TLS = frozenset({"DISABLE", "SIMPLE", "MUTUAL"})


def rank(mode: MtlsMode) -> int:
    """Strength of a mode (higher is stronger); UNKNOWN ranks below everything."""
    return _RANK.get(mode, -1)


def weakest(modes: Iterable[MtlsMode]) -> MtlsMode:
    """The weakest of the modes; UNKNOWN when any is unknown or there are none."""
    seen = list(modes)
    if not seen or MtlsMode.UNKNOWN in seen:
        return MtlsMode.UNKNOWN
    return min(seen, key=rank)


@dataclass(frozen=True)
class PortMtls:
    """The effective mode on one container port and the policy that decided it.

    `decided_by` is `PeerAuthentication ns/name`, or "" when no policy applies and Istio's
    default (PERMISSIVE) holds.
    """

    port: int
    mode: MtlsMode
    decided_by: str = ""


@dataclass(frozen=True)
class PeerScopes:
    """The PeerAuthentications that apply to one workload, scope by scope."""

    mesh: RawObject | None = None
    namespace: RawObject | None = None
    workload: RawObject | None = None
    shadowed: tuple[tuple[RawObject, RawObject], ...] = ()  # (shadowed, the one that wins)
    ignored_root_selectors: tuple[RawObject, ...] = ()  # selector policies in the root namespace
    ignored_port_levels: tuple[RawObject, ...] = ()  # portLevelMtls on selector-less policies


@dataclass(frozen=True)
class TlsSetting:
    """A DestinationRule TLS mode toward a service (a whole host, a port or a subset)."""

    rule: RawObject
    mode: str
    service_port: int | None = None
    subset: str = ""
    where: str = field(default="trafficPolicy")


def policy_mode(policy: RawObject | None, *, port: int | None = None) -> MtlsMode | None:
    """The mode a PeerAuthentication sets (on `port` when given), None when UNSET or absent."""
    if policy is None:
        return None
    policy_spec = objects.spec(policy)
    if port is None:
        block = objects.as_map(policy_spec.get("mtls"))
    else:
        levels = {str(k): v for k, v in objects.as_map(policy_spec.get("portLevelMtls")).items()}
        block = objects.as_map(levels.get(str(port)))
    return _POLICY_MODES.get(str(block.get("mode", "UNSET")).upper())


def scopes(*, snapshot: ClusterSnapshot, workload: Workload) -> PeerScopes:
    """The mesh, namespace and workload PeerAuthentications of a workload (oldest per scope)."""
    root = snapshot.root_namespace
    mesh: list[RawObject] = []
    namespaced: list[RawObject] = []
    selected: list[RawObject] = []
    ignored_root: list[RawObject] = []
    ignored_ports: list[RawObject] = []
    idx = index.of(snapshot)
    namespaces = [root] if workload.namespace == root else [root, workload.namespace]
    for policy in (p for ns in namespaces for p in idx.in_namespace(Kind.PEER_AUTHENTICATION, ns)):
        ns = objects.namespace(policy)
        selector = objects.selector_labels(policy)
        if selector is None:
            (mesh if ns == root else namespaced).append(policy)
            if objects.as_map(objects.spec(policy).get("portLevelMtls")):
                ignored_ports.append(policy)
        elif ns == root:
            if objects.selects(selector, workload.labels):
                ignored_root.append(policy)
        elif objects.selects(selector, workload.labels):
            selected.append(policy)
    shadowed: list[tuple[RawObject, RawObject]] = []
    winners = []
    for group in (mesh, namespaced, selected):
        ordered = sorted(group, key=objects.age_order)
        winners.append(ordered[0] if ordered else None)
        shadowed.extend((loser, ordered[0]) for loser in ordered[1:])
    return PeerScopes(
        mesh=winners[0],
        namespace=winners[1],
        workload=winners[2],
        shadowed=tuple(shadowed),
        ignored_root_selectors=tuple(ignored_root),
        ignored_port_levels=tuple(ignored_ports),
    )


def effective(*, scopes: PeerScopes, ports: Iterable[int]) -> dict[int, PortMtls]:
    """The mode on each container port of a workload with a sidecar, per Istio's composition."""
    mode, decided_by = MtlsMode.PERMISSIVE, ""
    for policy in (scopes.mesh, scopes.namespace, scopes.workload):
        set_mode = policy_mode(policy)
        if policy is not None and set_mode is not None:
            mode, decided_by = set_mode, objects.ref(policy)
    result = {}
    for port in ports:
        port_mode = policy_mode(scopes.workload, port=port)
        if scopes.workload is not None and port_mode is not None:
            result[port] = PortMtls(
                port=port, mode=port_mode, decided_by=objects.ref(scopes.workload)
            )
        else:
            result[port] = PortMtls(port=port, mode=mode, decided_by=decided_by)
    return result


def service_fqdn(service: RawObject) -> str:
    """`name.namespace.svc.cluster.local`."""
    return f"{objects.name(service)}.{objects.namespace(service)}.{CLUSTER_DOMAIN}"


def host_matches(*, host: str, namespace: str, fqdn: str) -> bool:
    """True when a host written in an Istio object of `namespace` means the service `fqdn`.

    Short names expand in the object's namespace (`reviews` -> `reviews.<ns>.svc.cluster.local`);
    `*` and `*.suffix` match by suffix.
    """
    host = host.strip().lower()
    if host == "*":
        return True
    if host.startswith("*."):
        return fqdn.endswith(host[1:])
    return index.expand_host(host=host, namespace=namespace) == fqdn


def tls_settings(*, snapshot: ClusterSnapshot, service: RawObject) -> list[TlsSetting]:
    """Every DestinationRule TLS mode that applies to traffic toward the service."""
    fqdn = service_fqdn(service)
    found: list[TlsSetting] = []
    for rule in index.of(snapshot).targeting(Kind.DESTINATION_RULE, fqdn):
        rule_spec = objects.spec(rule)
        host = str(rule_spec.get("host", ""))
        if not host or not host_matches(host=host, namespace=objects.namespace(rule), fqdn=fqdn):
            continue
        found.extend(_policy_tls(rule, rule_spec.get("trafficPolicy"), subset=""))
        for subset in objects.as_list(rule_spec.get("subsets")):
            subset_map = objects.as_map(subset)
            found.extend(
                _policy_tls(
                    rule, subset_map.get("trafficPolicy"), subset=str(subset_map.get("name"))
                )
            )
    return found


def _policy_tls(rule: RawObject, policy: object, *, subset: str) -> list[TlsSetting]:
    policy_map = objects.as_map(policy)
    where = f"subset {subset}" if subset else "trafficPolicy"
    settings = []
    mode = objects.as_map(policy_map.get("tls")).get("mode")
    if mode:
        settings.append(TlsSetting(rule=rule, mode=str(mode).upper(), subset=subset, where=where))
    for level in objects.as_list(policy_map.get("portLevelSettings")):
        level_map = objects.as_map(level)
        level_mode = objects.as_map(level_map.get("tls")).get("mode")
        number = objects.as_map(level_map.get("port")).get("number")
        if level_mode and isinstance(number, int):
            settings.append(
                TlsSetting(
                    rule=rule,
                    mode=str(level_mode).upper(),
                    service_port=number,
                    subset=subset,
                    where=f"{where} port {number}",
                )
            )
    return settings


def modes_by_port(ports: Mapping[int, PortMtls]) -> dict[int, MtlsMode]:
    """Just the modes of a port map."""
    return {port: item.mode for port, item in ports.items()}


def findings_of(
    *, workload: Workload, peer: PeerScopes, ports: dict[int, PortMtls], without_sidecar: bool
) -> list[Finding]:
    """MG101, MG102 and MG104-MG107 for a workload (`ports`: its effective modes)."""
    ref = workload.ref
    problems = []
    for loser, winner in peer.shadowed:
        problems.append(
            findings.make(
                findings.PEER_AUTHN_SHADOWED,
                message=f"{objects.ref(loser)} has no effect on {ref}: the older "
                f"{objects.ref(winner)} takes its scope",
                objects=(objects.ref(loser), objects.ref(winner)),
                fix=f"delete {objects.ref(loser)} or merge it into {objects.ref(winner)}",
            )
        )
    for policy in peer.ignored_root_selectors:
        problems.append(
            findings.make(
                findings.ROOT_SELECTOR_IGNORED,
                message=f"{objects.ref(policy)} selects {ref} from the root namespace; Istio "
                "ignores selectors there",
                objects=(objects.ref(policy),),
                fix=f"move it to namespace {workload.namespace}",
            )
        )
    for policy in peer.ignored_port_levels:
        if policy in (peer.mesh, peer.namespace):
            problems.append(
                findings.make(
                    findings.PORT_LEVEL_IGNORED,
                    message=f"{objects.ref(policy)} sets portLevelMtls without a selector; "
                    "Istio ignores it",
                    objects=(objects.ref(policy),),
                    fix="move the port settings into a PeerAuthentication with a selector",
                )
            )
    if without_sidecar:
        declared = effective(scopes=peer, ports=ports)
        strict = [p for p, item in declared.items() if item.mode is MtlsMode.STRICT]
        if strict:
            decider = declared[strict[0]].decided_by
            problems.append(
                findings.make(
                    findings.MTLS_WITHOUT_SIDECAR,
                    message=f"{decider} makes {ref} STRICT, but pods without istio-proxy accept "
                    "plaintext",
                    objects=(decider, ref),
                    fix="inject the sidecar (inject phase) before relying on STRICT",
                )
            )
        return problems
    for mode, code in (
        (MtlsMode.DISABLE, findings.MTLS_DISABLED),
        (MtlsMode.PERMISSIVE, findings.MTLS_PERMISSIVE),
    ):
        weak = sorted(p for p, item in ports.items() if item.mode is mode)
        if not weak:
            continue
        by = ports[weak[0]].decided_by
        problems.append(
            findings.make(
                code,
                message=f"{ref}: mTLS {mode.value} on port {', '.join(map(str, weak))} "
                f"({by or 'Istio default, no PeerAuthentication'})",
                objects=(by,) if by else (),
                fix="the permissive and strict phases apply PeerAuthentications that move this "
                "to STRICT",
            )
        )
    return problems
