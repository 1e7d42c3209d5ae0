"""Lookups over a snapshot by namespace, name and host, built once per snapshot.

An audit assesses every service of a cluster; scanning every pod and policy for each service
makes it quadratic (2,000 services took minutes). `of(snapshot)` returns an index that files
objects by namespace, by name and by the service host they target, built lazily per kind and
kept for as long as the snapshot lives. It only reorganises what the snapshot holds: results are
the same as scanning, and nothing here performs I/O.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from workflows.mesh import objects
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

# Labels of DNS names that Kubernetes expands in a short host (`reviews` -> FQDN).
CLUSTER_DOMAIN = "svc.cluster.local"

_LOCK = threading.Lock()
_INDEXES: dict[int, SnapshotIndex] = {}


def expand_host(*, host: str, namespace: str) -> str:
    """A host written in an Istio object of `namespace`, as a full service name.

    Short names expand in the object's namespace (`reviews` -> `reviews.<ns>.svc.cluster.local`),
    `name.ns` and `name.ns.svc` get the cluster domain; anything else is already a full name.
    """
    host = host.strip().lower()
    parts = host.split(".")
    if len(parts) == 1 and host != "*":
        return f"{host}.{namespace}.{CLUSTER_DOMAIN}"
    if len(parts) == 2 and not host.startswith("*"):
        return f"{host}.{CLUSTER_DOMAIN}"
    if len(parts) == 3 and parts[2] == "svc" and not host.startswith("*"):
        return f"{host}.cluster.local"
    return host


@dataclass
class SnapshotIndex:
    """Objects of one snapshot filed for fast lookup (see the module docstring)."""

    _snapshot: weakref.ref[ClusterSnapshot]
    _by_namespace: dict[Kind, dict[str, list[RawObject]]] = field(default_factory=dict)
    _by_name: dict[Kind, dict[tuple[str, str], RawObject]] = field(default_factory=dict)
    _by_host: dict[Kind, dict[str, list[tuple[int, RawObject]]]] = field(default_factory=dict)
    _live_pods: dict[str, list[RawObject]] | None = None
    _selected_namespaces: dict[frozenset[tuple[str, str]], list[str]] = field(default_factory=dict)

    @property
    def snapshot(self) -> ClusterSnapshot:
        """The indexed snapshot (alive while anyone asks: callers hold it)."""
        snapshot = self._snapshot()
        if snapshot is None:  # pragma: no cover - the caller passed the snapshot in
            raise RuntimeError("the indexed snapshot is gone")
        return snapshot

    def in_namespace(self, kind: Kind, namespace: str) -> Sequence[RawObject]:
        """Objects of `kind` in `namespace`, in snapshot order."""
        if kind not in self._by_namespace:
            filed: dict[str, list[RawObject]] = {}
            for obj in self.snapshot.of(kind):
                filed.setdefault(objects.namespace(obj), []).append(obj)
            self._by_namespace[kind] = filed
        return self._by_namespace[kind].get(namespace, ())

    def find(self, kind: Kind, *, namespace: str, name: str) -> RawObject | None:
        """The first object of `kind` named `namespace/name` (as ClusterSnapshot.find)."""
        if kind not in self._by_name:
            filed: dict[tuple[str, str], RawObject] = {}
            for obj in self.snapshot.of(kind):
                filed.setdefault((objects.namespace(obj), objects.name(obj)), obj)
            self._by_name[kind] = filed
        return self._by_name[kind].get((namespace, name))

    def live_pods(self, namespace: str | None) -> Sequence[RawObject]:
        """Pods not Succeeded or Failed, of one namespace (every namespace when None)."""
        if self._live_pods is None:
            filed: dict[str, list[RawObject]] = {}
            for pod in self.snapshot.of(Kind.POD):
                phase = objects.as_map(pod.get("status")).get("phase")
                if phase not in {"Succeeded", "Failed"}:
                    filed.setdefault(objects.namespace(pod), []).append(pod)
            self._live_pods = filed
        if namespace is None:
            return [pod for pods in self._live_pods.values() for pod in pods]
        return self._live_pods.get(namespace, ())

    def namespaces_selected(self, selector: dict[str, str]) -> list[str]:
        """Sorted namespaces of the live pods a label selector matches (none when empty)."""
        key = frozenset(selector.items())
        if key not in self._selected_namespaces:
            self._selected_namespaces[key] = sorted(
                {
                    objects.namespace(pod)
                    for pod in self.live_pods(None)
                    if selector and objects.selects(selector, objects.labels(pod))
                }
            )
        return self._selected_namespaces[key]

    def targeting(self, kind: Kind, fqdn: str) -> list[RawObject]:
        """Objects of `kind` (DestinationRule, VirtualService) with a host that may be `fqdn`.

        A superset for the caller to match: exact hosts by name; `*.suffix` hosts by each
        suffix of `fqdn` (so a wildcard per namespace costs one lookup, not a scan); other
        wildcard shapes always. DestinationRules are filed by `spec.host`, VirtualServices by
        the hosts of their route destinations. Results keep snapshot order.
        """
        if kind not in self._by_host:
            filed: dict[str, list[tuple[int, RawObject]]] = {}
            for position, obj in enumerate(self.snapshot.of(kind)):
                ns = objects.namespace(obj)
                for host in _hosts(kind, obj):
                    key = _host_key(expand_host(host=host, namespace=ns))
                    bucket = filed.setdefault(key, [])
                    if not bucket or bucket[-1][1] is not obj:
                        bucket.append((position, obj))
            self._by_host[kind] = filed
        filed = self._by_host[kind]
        keys = [fqdn, _ANY_HOST, _OTHER_WILDCARD]
        keys += [f"*{fqdn[i:]}" for i, char in enumerate(fqdn) if char == "."]
        hits = {id(obj): (position, obj) for key in keys for position, obj in filed.get(key, ())}
        return [obj for _, obj in sorted(hits.values(), key=lambda hit: hit[0])]


# Keys of SnapshotIndex.targeting for hosts that are not one name or one `*.suffix`.
_ANY_HOST = "*"
_OTHER_WILDCARD = "?"


def _host_key(full: str) -> str:
    """How a host is filed: itself, `*.suffix` as written, `*`, or the catch-all wildcard."""
    if "*" not in full or full == _ANY_HOST:
        return full
    if full.startswith("*.") and "*" not in full[1:]:
        return full
    return _OTHER_WILDCARD


def of(snapshot: ClusterSnapshot) -> SnapshotIndex:
    """The index of `snapshot`, built on first use and dropped with the snapshot.

    The cache holds no reference to the snapshot, so it does not keep snapshots alive.
    """
    key = id(snapshot)
    with _LOCK:
        index = _INDEXES.get(key)
        if index is not None and index.snapshot is snapshot:
            return index
        index = SnapshotIndex(_snapshot=weakref.ref(snapshot))
        _INDEXES[key] = index
    weakref.finalize(snapshot, _forget, key, index)
    return index


def _forget(key: int, index: SnapshotIndex) -> None:
    with _LOCK:
        if _INDEXES.get(key) is index:
            del _INDEXES[key]


def _hosts(kind: Kind, obj: RawObject) -> list[str]:
    spec = objects.spec(obj)
    if kind is Kind.DESTINATION_RULE:
        return [str(spec["host"])] if spec.get("host") else []
    hosts = []
    for route_kind in ("http", "tcp", "tls"):
        for route in objects.as_list(spec.get(route_kind)):
            for destination in objects.as_list(objects.as_map(route).get("route")):
                host = objects.as_map(objects.as_map(destination).get("destination")).get("host")
                if host:
                    hosts.append(str(host))
    return hosts
