"""Certificates in front of an ingress-facing service: TLS on every host, from a Ready cert.

For each Gateway a bound VirtualService routes the service through, and each host that binding
takes effect for (`routing.served_hosts`), the Gateway servers that serve the host are read:

- none of them terminates TLS (plain `HTTP`, or only an `httpsRedirect`): the host is served
  in plaintext (MG411);
- TLS that passes through (`PASSTHROUGH`, `AUTO_PASSTHROUGH`) or a server certificate mounted
  from files: the certificate is the workload's or the file's, which meshgate cannot see, so
  the check is `unknown`;
- a `credentialName`: its Secret must exist where the gateway pods run (MG406), the
  cert-manager Certificate writing it must be Ready (MG405) and its `dnsNames` (or
  `commonName`) must cover the host, a `*.` name covering exactly one label (MG412). A Secret
  no Certificate writes cannot be read (meshgate lists Secret names only): `unknown`.

Istio reads credentials from the namespace of the gateway pods (gateway/secret.go,
SecretAnalyzer, looks them up there).
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.mesh import findings, index, objects
from workflows.mesh.findings import Finding
from workflows.mesh.routing import (
    INGRESS_HOSTS_ANNOTATION,
    GatewayRoute,
    Outcome,
    declared_hosts,
    gateway_routes,
    labels_of,
    served_hosts,
    server_hosts,
    servers,
    wildcard_match,
)
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

_PASSTHROUGH = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH"})


def certificates(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """TLS with a Ready Certificate covering every ingress host of the service."""
    problems: dict[tuple[str, str], Finding] = {}
    good: list[str] = []
    undecided: list[str] = []
    routes = [
        r for r in gateway_routes(snapshot=snapshot, service=service) if r.gateway is not None
    ]
    declared = declared_hosts(service, INGRESS_HOSTS_ANNOTATION)
    for route in routes:
        for host in _hosts_to_check(served_hosts(route), declared):
            _check_host(
                snapshot=snapshot, route=route, host=host, problems=problems, good=good,
                undecided=undecided,
            )  # fmt: skip
    routed = {h for r in routes for h in served_hosts(r)}
    for host in declared:
        if not any(wildcard_match(pattern=h, host=host) for h in routed):
            undecided.append(f"ingress host {host} has no bound route yet (virtualservice-bound)")
    if not routes and not undecided:
        return Outcome((), "not ingress-facing: no Gateway routes to it")
    summary = "TLS with Ready certificates: " + ", ".join(sorted(set(good))) if good else ""
    return Outcome(
        tuple(problems[key] for key in sorted(problems)),
        summary or "no host checked",
        undecided="; ".join(dict.fromkeys(undecided)),
        undecided_fix="check the certificate by hand (openssl s_client -servername HOST)",
    )


def _hosts_to_check(served: list[str], declared: list[str]) -> list[str]:
    """The hosts clients use: a served `*` stands for the declared hosts it covers, if any."""
    hosts = []
    for host in served:
        covered = [d for d in declared if host == "*" and wildcard_match(pattern=host, host=d)]
        hosts.extend(covered or [host])
    return list(dict.fromkeys(hosts))


def _check_host(
    *,
    snapshot: ClusterSnapshot,
    route: GatewayRoute,
    host: str,
    problems: dict[tuple[str, str], Finding],
    good: list[str],
    undecided: list[str],
) -> None:
    gateway = route.gateway
    if gateway is None:  # pragma: no cover - the caller passes bound routes only
        return
    gref = objects.ref(gateway)
    vs_ns = objects.namespace(route.virtual_service)
    serving = [
        s
        for s in servers(gateway)
        if any(wildcard_match(pattern=h, host=host) or wildcard_match(pattern=host, host=h)
               for h in server_hosts(s, gateway, vs_ns))
    ]  # fmt: skip
    tls_servers = [s for s in serving if _terminates_or_passes_tls(s)]
    if not tls_servers:
        problems[(gref, host)] = findings.make(
            findings.INGRESS_PLAINTEXT,
            message=f"{gref} serves {host} without TLS (plain HTTP): no certificate protects it",
            objects=(gref,),
            fix=f"add an HTTPS server for {host} with tls.credentialName (a cert-manager "
            "Certificate's secretName), and httpsRedirect on the HTTP one",
        )
        return
    homes = _gateway_namespaces(snapshot=snapshot, gateway=gateway)
    for server in tls_servers:
        tls = objects.as_map(server.get("tls"))
        mode = str(tls.get("mode") or "SIMPLE").upper()
        if mode in _PASSTHROUGH:
            undecided.append(f"{gref} passes TLS for {host} through to the workload ({mode})")
            continue
        if mode == "ISTIO_MUTUAL":
            good.append(f"{host} ({gref}, ISTIO_MUTUAL)")
            continue
        credentials = _credentials(tls)
        if not credentials:
            undecided.append(f"{gref} serves {host} with a certificate from files")
        for credential in credentials:
            _check_credential(
                snapshot=snapshot, gateway=gateway, host=host, credential=credential,
                homes=homes, problems=problems, good=good, undecided=undecided,
            )  # fmt: skip


def _check_credential(
    *,
    snapshot: ClusterSnapshot,
    gateway: RawObject,
    host: str,
    credential: str,
    homes: list[str],
    problems: dict[tuple[str, str], Finding],
    good: list[str],
    undecided: list[str],
) -> None:
    idx = index.of(snapshot)
    gref = objects.ref(gateway)
    secret = next(
        (s for ns in homes if (s := idx.find(Kind.SECRET, namespace=ns, name=credential))), None
    )
    certificate = _certificate_for(snapshot=snapshot, secret=credential, namespaces=homes)
    involved = (gref,) + ((objects.ref(certificate),) if certificate else ())
    before = len(problems)
    if secret is None and not any(snapshot.secrets_readable_in(ns) for ns in homes):
        # meshgate lists Secrets only in MESHGATE_SECRET_NAMESPACES: not looked for, not missing
        undecided.append(
            f"Secret {credential} of {gref} in {' or '.join(homes)} was not looked for "
            "(meshgate lists Secrets only in MESHGATE_SECRET_NAMESPACES)"
        )
        return
    if secret is None:
        problems[(gref, f"secret {credential}")] = findings.make(
            findings.CREDENTIAL_SECRET_MISSING,
            message=f"Secret {credential} (credentialName of {gref}) is not in "
            f"{' or '.join(homes)}",
            objects=involved,
            fix=f"create the TLS Secret {credential} in the ingress gateway's namespace (a "
            "cert-manager Certificate with that secretName)",
        )
    if certificate is None:
        if secret is not None:
            undecided.append(
                f"Secret {credential} of {gref} is not written by a cert-manager Certificate; "
                f"meshgate cannot see whether it covers {host}"
            )
        return
    cref = objects.ref(certificate)
    if not objects.condition_true(certificate, "Ready"):
        problems[(gref, f"ready {cref}")] = findings.make(
            findings.CERTIFICATE_NOT_READY,
            message=f"{cref} for credentialName {credential} of {gref} is not Ready",
            objects=involved,
            fix=f"kubectl describe certificate -n {objects.namespace(certificate)} "
            f"{objects.name(certificate)} (issuer, DNS challenge)",
        )
    names = _certificate_names(certificate)
    if host == "*":
        undecided.append(
            f"{gref} serves host `*` with {cref}: declare the hosts clients use "
            f"({INGRESS_HOSTS_ANNOTATION}) so meshgate can check its names cover them"
        )
    elif not any(_covers(name=n, host=host) for n in names):
        problems[(gref, f"covers {cref} {host}")] = findings.make(
            findings.CERTIFICATE_HOST_MISMATCH,
            message=f"{cref} (dnsNames {', '.join(names) or 'none'}) does not cover {host}, "
            f"which {gref} serves with it: clients reject the certificate",
            objects=involved,
            fix=f"add {host} to spec.dnsNames of {cref}",
        )
    if len(problems) == before and host != "*":
        good.append(f"{host} ({credential}, {gref})")


def _terminates_or_passes_tls(server: Mapping[str, object]) -> bool:
    tls = objects.as_map(server.get("tls"))
    protocol = str(objects.as_map(server.get("port")).get("protocol") or "").upper()
    if protocol in ("HTTPS", "TLS"):
        return True
    return bool(tls.get("mode")) or bool(_credentials(tls))


def _credentials(tls: Mapping[str, object]) -> list[str]:
    names = [str(tls["credentialName"])] if tls.get("credentialName") else []
    names.extend(str(n) for n in objects.as_list(tls.get("credentialNames")))
    return list(dict.fromkeys(names))


def _certificate_names(certificate: RawObject) -> list[str]:
    spec = objects.spec(certificate)
    names = [str(n).lower() for n in objects.as_list(spec.get("dnsNames"))]
    if spec.get("commonName"):
        names.append(str(spec["commonName"]).lower())
    return names


def _covers(*, name: str, host: str) -> bool:
    """A certificate name covers the host: equal, or `*.rest` for exactly one more label."""
    if name == host:
        return True
    if name.startswith("*.") and not host.startswith("*"):
        label, _, rest = host.partition(".")
        return bool(label) and rest == name[2:]
    return False


def _gateway_namespaces(*, snapshot: ClusterSnapshot, gateway: RawObject) -> list[str]:
    """Namespaces of the gateway pods the Gateway selects (where Istio reads credentials)."""
    selector = labels_of(objects.spec(gateway).get("selector"))
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
