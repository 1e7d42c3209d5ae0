"""DestinationRule subsets of a service: the ones routes use must exist and select pods.

A route to a subset no DestinationRule defines gets 503 (Istio's analyzer reports it:
pkg/config/analysis/analyzers/virtualservice/destinationrules.go, checkDestinationSubset)
(MG407). A defined subset that selects none of the service's pods matters only when a route
uses it (MG403); unused subsets are harmless and only listed. Routes and mirrors of every
VirtualService (gateway-bound or mesh) count.
"""

from __future__ import annotations

from collections.abc import Iterator

from workflows.mesh import findings, index, objects
from workflows.mesh.mtls import host_matches, service_fqdn
from workflows.mesh.routing import ROUTE_KINDS, Outcome, labels_of
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.mesh.workloads import selected_pods, service_selector


def subsets(*, snapshot: ClusterSnapshot, service: RawObject) -> Outcome:
    """Every subset a route to the service uses is defined and selects at least one pod."""
    fqdn = service_fqdn(service)
    pods = selected_pods(snapshot=snapshot, service=service)
    defined = _defined_subsets(snapshot=snapshot, fqdn=fqdn)
    used = _used_subsets(snapshot=snapshot, fqdn=fqdn)
    problems = []
    for subset_name, routes in sorted(used.items()):
        if subset_name not in defined:
            names = ", ".join(sorted({objects.ref(vs) for vs in routes}))
            problems.append(
                findings.make(
                    findings.SUBSET_UNDEFINED,
                    message=f"{names} routes to subset {subset_name} of {objects.ref(service)}, "
                    "which no DestinationRule defines: requests get 503",
                    objects=tuple(sorted({objects.ref(vs) for vs in routes})),
                    fix=f"define subset {subset_name} in the DestinationRule for "
                    f"{objects.name(service)}, or route to a defined one",
                )
            )
            continue
        rule, labels = defined[subset_name]
        selector = {**service_selector(service), **labels}
        if pods and not any(objects.selects(selector, objects.labels(p)) for p in pods):
            wanted = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            problems.append(
                findings.make(
                    findings.SUBSET_SELECTS_NOTHING,
                    message=f"subset {subset_name} of {objects.ref(rule)} selects no pod "
                    f"({wanted}), and a route uses it",
                    objects=(objects.ref(rule),),
                    fix=f"fix the labels of subset {subset_name}, or stop routing to it; its "
                    "requests get 503 (no healthy upstream)",
                )
            )
    checked = sorted(f"{objects.name(defined[n][0])}/{n}" for n in used if n in defined)
    unused = sorted(
        f"{objects.name(rule)}/{n}" for n, (rule, _) in defined.items() if n not in used
    )
    parts = [f"subsets in use select pods: {', '.join(checked)}"] if checked else []
    parts += [f"unused (not checked): {', '.join(unused)}"] if unused else []
    summary = "; ".join(parts) or "no route uses a DestinationRule subset of this service"
    if used and not pods and not problems:
        # MG003 already says the service has no pods; one subset finding each would be noise.
        blocked = (
            f"{objects.ref(service)} selects no pods, so subsets {', '.join(sorted(used))} "
            "select none"
        )
        return Outcome((), summary, blocked=blocked)
    return Outcome(tuple(problems), summary)


def _defined_subsets(
    *, snapshot: ClusterSnapshot, fqdn: str
) -> dict[str, tuple[RawObject, dict[str, str]]]:
    """Subset name -> (DestinationRule, labels), over the rules for the host (first wins)."""
    defined: dict[str, tuple[RawObject, dict[str, str]]] = {}
    for rule in index.of(snapshot).targeting(Kind.DESTINATION_RULE, fqdn):
        host = str(objects.spec(rule).get("host", ""))
        if not host or not host_matches(host=host, namespace=objects.namespace(rule), fqdn=fqdn):
            continue
        for subset in objects.as_list(objects.spec(rule).get("subsets")):
            subset_map = objects.as_map(subset)
            name = str(subset_map.get("name", ""))
            defined.setdefault(name, (rule, labels_of(subset_map.get("labels"))))
    return defined


def _used_subsets(*, snapshot: ClusterSnapshot, fqdn: str) -> dict[str, list[RawObject]]:
    """Subset name -> VirtualServices with a route (or mirror) to it on this host."""
    used: dict[str, list[RawObject]] = {}
    for vs in index.of(snapshot).targeting(Kind.VIRTUAL_SERVICE, fqdn):
        ns = objects.namespace(vs)
        for destination in _destination_maps(vs):
            host = str(destination.get("host", ""))
            subset = str(destination.get("subset") or "")
            if subset and host and host_matches(host=host, namespace=ns, fqdn=fqdn):
                used.setdefault(subset, []).append(vs)
    return used


def _destination_maps(vs: RawObject) -> Iterator[dict[str, object]]:
    vs_spec = objects.spec(vs)
    for kind in ROUTE_KINDS:
        for route in objects.as_list(vs_spec.get(kind)):
            route_map = objects.as_map(route)
            for destination in objects.as_list(route_map.get("route")):
                yield dict(objects.as_map(objects.as_map(destination).get("destination")))
            if route_map.get("mirror"):
                yield dict(objects.as_map(route_map.get("mirror")))
