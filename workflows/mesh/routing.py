"""Routing facts for a service: ingress routes bound to Gateways, and DestinationRule subsets.

How a Service tells meshgate what it needs (annotations on the Service, comma-separated):

- `meshgate.io/ingress-hosts: "shop.example.com"`: hosts the outside world reaches the service
  by; each needs a VirtualService for that host, bound to an existing Gateway that serves it,
  routing to the service.
- `meshgate.io/external-hosts: "api.stripe.com,*.googleapis.com"` (or `none`): hosts outside
  the mesh the service calls (`egress`).

Without `meshgate.io/ingress-hosts`, a service is ingress-facing when a VirtualService bound to a
Gateway routes to it. Istio's rules followed here (istio/istio pkg/config/analysis/analyzers):

- A VirtualService applies to a Gateway only for the hosts both name (virtualservice/gateways.go,
  vsHostInGateway: Gateway hosts `ns/host` count for VirtualServices of `ns` only, `./host` for
  the Gateway's own namespace, `*/host` for every one; hosts match when either wildcard covers
  the other, host.Name.Matches). With no common host, Istio ignores the binding (MG409).
- A Gateway whose selector matches no pod configures nothing (gateway/gateway.go,
  analyzeGateway: ReferencedResourceNotFound on the selector) (MG410). Pods in any namespace
  count, as with PILOT_SCOPE_GATEWAY_TO_NAMESPACE off (the default).
- A route to a subset no DestinationRule defines gets 503 (virtualservice/destinationrules.go,
  checkDestinationSubset) (MG407). A defined subset that selects no pod matters only when a
  route uses it (MG403); unused ones are harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import host_matches, service_fqdn
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

INGRESS_HOSTS_ANNOTATION = "meshgate.io/ingress-hosts"
EXTERNAL_HOSTS_ANNOTATION = "meshgate.io/external-hosts"
_MESH_GATEWAY = "mesh"  # the reserved gateway name meaning "sidecars", not an ingress
ROUTE_KINDS = ("http", "tcp", "tls")


@dataclass(frozen=True)
class Outcome:
    """Findings of one routing aspect, and a one-line summary for when there are none."""

    findings: tuple[Finding, ...]
    summary: str
    blocked: str = ""  # set when the aspect fails for a reason that is not a finding
    undecided: str = ""  # set when meshgate cannot decide the aspect (a check says unknown)
    undecided_fix: str = ""


@dataclass(frozen=True)
class GatewayRoute:
    """A VirtualService bound to a Gateway, routing to the service."""

    virtual_service: RawObject
    gateway_ref: str  # `ns/name` as resolved from the VirtualService
    gateway: RawObject | None  # None when no such Gateway exists


def declared_hosts(service: RawObject, annotation: str) -> list[str]:
    """Hosts listed in a comma-separated annotation of the Service."""
    raw = objects.annotation_map(service).get(annotation, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def gateway_routes(*, snapshot: ClusterSnapshot, service: RawObject) -> list[GatewayRoute]:
    """VirtualServices bound to a Gateway with a route to the service, one row per Gateway."""
    fqdn = service_fqdn(service)
    routes = []
    idx = index.of(snapshot)
    for vs in idx.targeting(Kind.VIRTUAL_SERVICE, fqdn):
        ns = objects.namespace(vs)
        if not any(host_matches(host=h, namespace=ns, fqdn=fqdn) for h in _destinations(vs)):
            continue
        for gateway in objects.as_list(objects.spec(vs).get("gateways")):
            text = str(gateway)
            if text == _MESH_GATEWAY:
                continue
            gw_ns, _, gw_name = text.rpartition("/")
            gw_ns = gw_ns or ns
            found = idx.find(Kind.GATEWAY, namespace=gw_ns, name=gw_name)
            routes.append(GatewayRoute(vs, f"{gw_ns}/{gw_name}", found))
    return routes


def ingress(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Declared ingress hosts routed through a bound VirtualService; every binding takes effect."""
    routes = gateway_routes(snapshot=snapshot, service=service)
    problems = [
        findings.make(
            findings.GATEWAY_MISSING,
            message=f"{objects.ref(r.virtual_service)} is bound to Gateway {r.gateway_ref}, "
            "which does not exist",
            objects=(objects.ref(r.virtual_service),),
            fix=f"create Gateway {r.gateway_ref} or fix `gateways:` in the VirtualService",
        )
        for r in routes
        if r.gateway is None
    ]
    bound = [r for r in routes if r.gateway is not None]
    for route in bound:
        if not served_hosts(route):
            vs_hosts = ", ".join(_vs_hosts(route.virtual_service)) or "no hosts"
            problems.append(
                findings.make(
                    findings.GATEWAY_HOST_MISMATCH,
                    message=f"{objects.ref(route.virtual_service)} ({vs_hosts}) is bound to "
                    f"Gateway {route.gateway_ref}, which serves none of its hosts for namespace "
                    f"{objects.namespace(route.virtual_service)}; Istio ignores the binding",
                    objects=(objects.ref(route.virtual_service), f"Gateway {route.gateway_ref}"),
                    fix="add the host to a server of the Gateway (or `<namespace>/<host>`), or "
                    "fix the VirtualService's hosts",
                )
            )
    gateways = {objects.ref(r.gateway): r.gateway for r in bound if r.gateway is not None}
    if snapshot.of(Kind.POD):  # a manifest folder without pods cannot say what runs
        for ref in sorted(gateways):
            selector = labels_of(objects.spec(gateways[ref]).get("selector"))
            if selector and not index.of(snapshot).namespaces_selected(selector):
                shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
                problems.append(
                    findings.make(
                        findings.GATEWAY_SELECTS_NOTHING,
                        message=f"{ref} selects no gateway pod ({shown}): nothing serves it",
                        objects=(ref,),
                        fix="fix the Gateway's selector to the ingress gateway pods' labels "
                        "(kubectl get pods -A -l istio=ingressgateway)",
                    )
                )
    for host in declared_hosts(service, INGRESS_HOSTS_ANNOTATION):
        if not any(_serves(route=r, host=host) for r in bound):
            problems.append(
                findings.make(
                    findings.INGRESS_HOST_UNROUTED,
                    message=f"ingress host {host} of {objects.ref(service)} has no VirtualService "
                    "bound to a Gateway that serves it",
                    objects=(objects.ref(service),),
                    fix=f"add a VirtualService for {host} with `gateways: [<gateway>]` routing to "
                    f"{objects.name(service)}",
                )
            )
    if bound:
        summary = "bound: " + ", ".join(
            sorted({f"{objects.ref(r.virtual_service)} -> Gateway {r.gateway_ref}" for r in bound})
        )
    else:
        summary = "not ingress-facing: no Gateway routes to it and no meshgate.io/ingress-hosts"
    return Outcome(tuple(problems), summary)


def served_hosts(route: GatewayRoute) -> list[str]:
    """Hosts of the VirtualService that its Gateway serves for the VirtualService's namespace."""
    if route.gateway is None:
        return []
    vs_ns = objects.namespace(route.virtual_service)
    gateway_hosts = [
        h for server in servers(route.gateway) for h in server_hosts(server, route.gateway, vs_ns)
    ]
    return [
        h
        for h in _vs_hosts(route.virtual_service)
        if any(hosts_overlap(h, g) for g in gateway_hosts)
    ]


def servers(gateway: RawObject) -> list[dict[str, object]]:
    """spec.servers of a Gateway."""
    return [dict(objects.as_map(s)) for s in objects.as_list(objects.spec(gateway).get("servers"))]


def server_hosts(server: dict[str, object], gateway: RawObject, vs_namespace: str) -> list[str]:
    """The server's hosts a VirtualService of `vs_namespace` may bind (NamesForNamespace)."""
    allowed = []
    for raw in objects.as_list(server.get("hosts")):
        ns, slash, host = str(raw).rpartition("/")
        if not slash or ns == "*":
            allowed.append(host)
        elif ns == "." and objects.namespace(gateway) == vs_namespace:
            allowed.append(host)
        elif ns == vs_namespace:
            allowed.append(host)
    return allowed


def hosts_overlap(one: str, other: str) -> bool:
    """host.Name.Matches: equal, or one's wildcard covers the other."""
    one, other = one.strip().lower(), other.strip().lower()
    return wildcard_match(pattern=one, host=other) or wildcard_match(pattern=other, host=one)


def _vs_hosts(vs: RawObject) -> list[str]:
    return [str(h).lower() for h in objects.as_list(objects.spec(vs).get("hosts"))]


def _destinations(vs: RawObject) -> Iterable[str]:
    vs_spec = objects.spec(vs)
    for kind in ROUTE_KINDS:
        for route in objects.as_list(vs_spec.get(kind)):
            for destination in objects.as_list(objects.as_map(route).get("route")):
                host = objects.as_map(objects.as_map(destination).get("destination")).get("host")
                if host:
                    yield str(host)


def _serves(*, route: GatewayRoute, host: str) -> bool:
    """The VirtualService and its Gateway both accept `host`."""
    return any(wildcard_match(pattern=h, host=host) for h in served_hosts(route))


def wildcard_match(*, pattern: str, host: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def labels_of(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in objects.as_map(value).items()}
