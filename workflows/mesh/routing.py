"""Routing and release facts for a service: ingress routes, subsets, egress, certificates.

How a Service tells meshgate what it needs (annotations on the Service, comma-separated):

- `meshgate.io/ingress-hosts: "shop.example.com"`: hosts the outside world reaches the service
  by; each needs a VirtualService for that host, bound to an existing Gateway that serves it,
  routing to the service.
- `meshgate.io/external-hosts: "api.stripe.com,*.googleapis.com"`: hosts outside the mesh the
  service calls; each needs a ServiceEntry visible from the service's namespace.

Without `meshgate.io/ingress-hosts`, a service is ingress-facing when a VirtualService bound to a
Gateway routes to it. Gateway TLS credentials (`tls.credentialName`) of the Gateways that route to
the service need their Secret, and the cert-manager Certificate that writes it must be Ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.mtls import host_matches, service_fqdn
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import selected_pods, service_selector

INGRESS_HOSTS_ANNOTATION = "meshgate.io/ingress-hosts"
EXTERNAL_HOSTS_ANNOTATION = "meshgate.io/external-hosts"
_MESH_GATEWAY = "mesh"  # the reserved gateway name meaning "sidecars", not an ingress
_ROUTE_KINDS = ("http", "tcp", "tls")


@dataclass(frozen=True)
class Outcome:
    """Findings of one routing aspect, and a one-line summary for when there are none."""

    findings: tuple[Finding, ...]
    summary: str
    blocked: str = ""  # set when the aspect fails for a reason that is not a finding
    unknown: str = ""  # set when part of it could not be checked (a Secret not looked for)


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
    """Declared ingress hosts routed through a bound VirtualService; no dangling Gateway refs."""
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


def subsets(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Every DestinationRule subset for the service selects at least one of its pods."""
    fqdn = service_fqdn(service)
    pods = selected_pods(snapshot=snapshot, service=service)
    problems = []
    checked = []
    for rule in index.of(snapshot).targeting(Kind.DESTINATION_RULE, fqdn):
        host = str(objects.spec(rule).get("host", ""))
        if not host or not host_matches(host=host, namespace=objects.namespace(rule), fqdn=fqdn):
            continue
        for subset in objects.as_list(objects.spec(rule).get("subsets")):
            subset_map = objects.as_map(subset)
            selector = {**service_selector(service), **_labels(subset_map.get("labels"))}
            subset_name = str(subset_map.get("name", ""))
            checked.append(f"{objects.name(rule)}/{subset_name}")
            if not any(objects.selects(selector, objects.labels(p)) for p in pods):
                wanted = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
                problems.append(
                    findings.make(
                        findings.SUBSET_SELECTS_NOTHING,
                        message=f"subset {subset_name} of {objects.ref(rule)} selects no pod "
                        f"({wanted})",
                        objects=(objects.ref(rule),),
                        fix=f"fix the labels of subset {subset_name} or remove it; routes to it "
                        "get 503 (no healthy upstream)",
                    )
                )
    summary = (
        f"subsets select pods: {', '.join(sorted(checked))}"
        if checked
        else "no DestinationRule subsets for this service"
    )
    if checked and not pods:
        # MG003 already says the service has no pods; one subset finding each would be noise.
        blocked = (
            f"{objects.ref(service)} selects no pods, so subsets {', '.join(checked)} select none"
        )
        return Outcome((), summary, blocked=blocked)
    return Outcome(tuple(problems), summary)


def egress(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Each host in meshgate.io/external-hosts has a ServiceEntry the service can see."""
    ns = objects.namespace(service)
    wanted = declared_hosts(service, EXTERNAL_HOSTS_ANNOTATION)
    visible = [se for se in snapshot.of(Kind.SERVICE_ENTRY) if _exported_to(se, ns)]
    problems = []
    covered = []
    for host in wanted:
        entry = next((se for se in visible if _entry_covers(se, host)), None)
        if entry is None:
            problems.append(
                findings.make(
                    findings.EXTERNAL_HOST_UNDECLARED,
                    message=f"external host {host} of {objects.ref(service)} has no ServiceEntry "
                    f"visible in namespace {ns}",
                    objects=(objects.ref(service),),
                    fix=f"add a ServiceEntry for {host} (location MESH_EXTERNAL) exported to {ns}",
                )
            )
        else:
            covered.append(f"{host} ({objects.ref(entry)})")
    if not wanted:
        summary = f"declares no external hosts ({EXTERNAL_HOSTS_ANNOTATION} not set)"
    else:
        summary = "ServiceEntries: " + ", ".join(covered)
    return Outcome(tuple(problems), summary)


def certificates(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Gateway credentials in front of the service: Secret present, Certificate Ready."""
    problems = []
    good = []
    unread: list[str] = []
    gateways = {
        objects.ref(r.gateway): r.gateway
        for r in gateway_routes(snapshot=snapshot, service=service)
        if r.gateway is not None
    }
    for gateway in (gateways[key] for key in sorted(gateways)):
        homes = _gateway_namespaces(snapshot=snapshot, gateway=gateway)
        for credential in _credentials(gateway):
            secret = next(
                (
                    s
                    for ns in homes
                    if (s := index.of(snapshot).find(Kind.SECRET, namespace=ns, name=credential))
                ),
                None,
            )
            certificate = _certificate_for(snapshot=snapshot, secret=credential, namespaces=homes)
            involved = (objects.ref(gateway),) + (
                (objects.ref(certificate),) if certificate else ()
            )
            if certificate is not None and not objects.condition_true(certificate, "Ready"):
                problems.append(
                    findings.make(
                        findings.CERTIFICATE_NOT_READY,
                        message=f"{objects.ref(certificate)} for credentialName {credential} of "
                        f"{objects.ref(gateway)} is not Ready",
                        objects=involved,
                        fix=f"kubectl describe certificate -n {objects.namespace(certificate)} "
                        f"{objects.name(certificate)} (issuer, DNS challenge)",
                    )
                )
            if secret is None and not any(snapshot.secrets_readable_in(ns) for ns in homes):
                unread.append(f"Secret {credential} in {' or '.join(homes)}")
            elif secret is None:
                problems.append(
                    findings.make(
                        findings.CREDENTIAL_SECRET_MISSING,
                        message=f"Secret {credential} (credentialName of {objects.ref(gateway)}) "
                        f"is not in {' or '.join(homes)}",
                        objects=involved,
                        fix=f"create the TLS Secret {credential} in the ingress gateway's "
                        "namespace (a cert-manager Certificate with that secretName)",
                    )
                )
            if secret is not None and (
                certificate is None or objects.condition_true(certificate, "Ready")
            ):
                good.append(f"{credential} ({objects.ref(gateway)})")
    summary = (
        "credentials ready: " + ", ".join(good)
        if good
        else "no Gateway with a TLS credentialName routes to this service"
    )
    unknown = (
        f"not looked for: {', '.join(unread)} (meshgate lists Secrets only in "
        "MESHGATE_SECRET_NAMESPACES)"
        if unread
        else ""
    )
    return Outcome(tuple(problems), summary, unknown=unknown)


def _destinations(vs: RawObject) -> Iterable[str]:
    vs_spec = objects.spec(vs)
    for kind in _ROUTE_KINDS:
        for route in objects.as_list(vs_spec.get(kind)):
            for destination in objects.as_list(objects.as_map(route).get("route")):
                host = objects.as_map(objects.as_map(destination).get("destination")).get("host")
                if host:
                    yield str(host)


def _serves(*, route: GatewayRoute, host: str) -> bool:
    """The VirtualService and its Gateway both accept `host`."""
    vs_hosts = [str(h) for h in objects.as_list(objects.spec(route.virtual_service).get("hosts"))]
    if not any(_wildcard_match(pattern=h, host=host) for h in vs_hosts):
        return False
    gateway = route.gateway or {}
    for server in objects.as_list(objects.spec(gateway).get("servers")):
        for pattern in objects.as_list(objects.as_map(server).get("hosts")):
            # Gateway hosts may be `namespace/host`; the namespace part limits who may bind.
            if _wildcard_match(pattern=str(pattern).rpartition("/")[2], host=host):
                return True
    return False


def _wildcard_match(*, pattern: str, host: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def _exported_to(entry: RawObject, namespace: str) -> bool:
    export = [str(e) for e in objects.as_list(objects.spec(entry).get("exportTo"))]
    if not export or "*" in export or namespace in export:
        return True
    return "." in export and objects.namespace(entry) == namespace


def _entry_covers(entry: RawObject, host: str) -> bool:
    hosts = [str(h) for h in objects.as_list(objects.spec(entry).get("hosts"))]
    return any(_wildcard_match(pattern=h, host=host) for h in hosts)


def _credentials(gateway: RawObject) -> list[str]:
    names: list[str] = []
    for server in objects.as_list(objects.spec(gateway).get("servers")):
        tls = objects.as_map(objects.as_map(server).get("tls"))
        if tls.get("credentialName"):
            names.append(str(tls["credentialName"]))
        names.extend(str(n) for n in objects.as_list(tls.get("credentialNames")))
    return list(dict.fromkeys(names))


def _gateway_namespaces(*, snapshot: ClusterSnapshot, gateway: RawObject) -> list[str]:
    """Namespaces of the gateway pods the Gateway selects (where Istio reads credentials)."""
    selector = _labels(objects.spec(gateway).get("selector"))
    homes = index.of(snapshot).namespaces_selected(selector)
    return homes or [objects.namespace(gateway)]


def _certificate_for(
    *, snapshot: ClusterSnapshot, secret: str, namespaces: list[str]
) -> RawObject | None:
    idx = index.of(snapshot)
    for ns in namespaces:
        for certificate in idx.in_namespace(Kind.CERTIFICATE, ns):
            if objects.spec(certificate).get("secretName") == secret:
                return certificate
    return None


def _labels(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in objects.as_map(value).items()}
