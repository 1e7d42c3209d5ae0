"""Live cluster reader: the Kubernetes API through the official `kubernetes` client.

`LiveClusterReader.snapshot()` fills a `workflows.mesh.ClusterSnapshot` with the same objects
the offline `ManifestReader` would give for the same cluster, reading each kind with one
cluster-wide LIST (paginated with `limit` + `continue`), never one request per service, so
the number of requests does not grow with the number of services:

- discovery: `GET /apis` and `GET /apis/{group}/{version}` for the Istio and cert-manager
  groups (v1beta1 only when v1 lacks a kind) decide which version of each kind to read (v1,
  else v1beta1) and which kinds the cluster does not serve (`snapshot.unserved`); core and
  apps/v1 are always served;
- one LIST per kind (several pages for big kinds), issued from a few threads at once;
- Secrets are listed only in the namespaces named by `secret_namespaces` (the ingress gateways'
  namespaces, MESHGATE_SECRET_NAMESPACES; `*` lists them cluster-wide), one LIST each, so a
  deployment needs no cluster-wide Secret access; the snapshot says where it looked, and a
  credential elsewhere is `unknown`, not missing. They are listed as metadata only
  (`as=PartialObjectMetadataList`), so secret data never crosses the wire; a second
  metadata-only LIST with `fieldSelector=type=kubernetes.io/tls` tells which are TLS secrets.
  Other secrets carry no `type` (it is not in the metadata), and the
  `last-applied-configuration` annotation, which can hold the data, is dropped;
- the mesh config is one GET of ConfigMap `istio` in istiod's namespace (404: none); its
  `rootNamespace` names the root namespace (workflows.mesh.meshconfig).

Responses are read raw (`ApiClient.call_api`, then `json.loads`): converting a 4,000-pod
LIST into the client's models costs about ten times the CPU, and the snapshot wants dicts.
`metadata.managedFields` is dropped from every object (it is large and no verdict uses it).

A kind that cannot be read never fails the snapshot: 403, 5xx, timeouts and broken responses
go into `snapshot.errors` with a short message, so the verdicts that need it are `unknown`.

"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

from bot import observability
from bot.kube import credentials
from bot.kube.credentials import KubeTarget
from bot.kube.errors import KubeError, KubeNotFound
from bot.kube.sources import BUILTIN_GROUPS, SOURCES, KindSource
from bot.kube.transport import (
    DEFAULT_TIMEOUT,
    JSON,
    KubeTransport,
    api_client_for_host,
    api_client_from_configuration,
)
from bot.observability import Dependency
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject

# A page of 500 is what kubectl uses (`--chunk-size` default), and keeps a 4,000-pod LIST
# to eight requests without making one response large.
DEFAULT_PAGE_SIZE = 500
DEFAULT_WORKERS = 4
PARTIAL_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
TLS_SECRET_TYPE = "kubernetes.io/tls"  # noqa: S105 - a Secret type, not a secret
MESH_CONFIG_NAME = "istio"
ALL_NAMESPACES = "*"
DEFAULT_SECRET_NAMESPACES = ("istio-system",)
# Annotations kubectl writes with the whole applied object in them: for a Secret, its data.
_DROPPED_SECRET_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


@dataclass(frozen=True)
class _Discovered:
    """Chosen version per kind, kinds not served, and kinds whose discovery failed."""

    versions: Mapping[Kind, str]
    unserved: frozenset[Kind]
    errors: Mapping[Kind, str]


class LiveClusterReader:
    """A ClusterReader over a live API server (see the module docstring)."""

    def __init__(
        self,
        api_client: Any,
        *,
        istio_namespace: str = "istio-system",
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int = DEFAULT_WORKERS,
        source: str = "",
        secret_namespaces: Sequence[str] = DEFAULT_SECRET_NAMESPACES,
    ) -> None:
        if page_size < 1 or workers < 1 or timeout <= 0:
            raise ValueError("page_size and workers must be >= 1 and timeout > 0")
        if not secret_namespaces:
            raise ValueError("secret_namespaces needs at least one namespace (or '*')")
        self.transport = KubeTransport(api_client, timeout=timeout)
        self.istio_namespace = istio_namespace
        self.page_size = page_size
        self.workers = workers
        self.source = source or f"cluster at {self.transport.host}"
        self.secret_namespaces: frozenset[str] | None = (
            None if ALL_NAMESPACES in secret_namespaces else frozenset(secret_namespaces)
        )

    @classmethod
    def from_configuration(cls, configuration: Any, **options: Any) -> Self:
        """Use a `kubernetes.client.Configuration` (its retries are set to meshgate's)."""
        return cls(api_client_from_configuration(configuration), **options)

    @classmethod
    def for_host(cls, host: str, *, token: str | None = None, **options: Any) -> Self:
        """An API server by URL, with an optional bearer token (tests, port-forwards)."""
        options.setdefault("source", f"cluster at {host}")
        return cls(api_client_for_host(host, token=token), **options)

    @classmethod
    def for_target(cls, target: KubeTarget, **options: Any) -> Self:
        """The cluster `bot.kube.credentials.choose` picked (kubeconfig or service account)."""
        options.setdefault("source", target.describe())
        return cls(credentials.api_client(target), **options)

    def close(self) -> None:
        """Release pooled connections."""
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading -----------------------------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        """Read every kind: discovery, then one (paginated) LIST per kind, a few at a time."""
        discovered = self._discover()
        errors: dict[Kind, str] = dict(discovered.errors)
        unserved = set(discovered.unserved)
        objects: dict[Kind, tuple[RawObject, ...]] = {}
        wanted = [s for s in SOURCES if s.kind in discovered.versions]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kube-list") as pool:
            results = pool.map(lambda s: self._read_kind(s, discovered.versions[s.kind]), wanted)
            for source, (items, error) in zip(wanted, results, strict=True):
                if isinstance(error, KubeNotFound):
                    unserved.add(source.kind)
                elif error is not None:
                    errors[source.kind] = error.message
                    observability.dependency_error(Dependency.KUBERNETES, error)
                elif items:
                    objects[source.kind] = items
        observability.unreadable_kinds(len(errors))
        return ClusterSnapshot(
            objects=objects,
            errors=errors,
            unserved=frozenset(unserved),
            istio_namespace=self.istio_namespace,
            source=self.source,
            secret_namespaces=self.secret_namespaces,
        )

    def _discover(self) -> _Discovered:
        versions: dict[Kind, str] = {}
        unserved: set[Kind] = set()
        errors: dict[Kind, str] = {}
        custom = [s for s in SOURCES if s.group not in BUILTIN_GROUPS]
        for source in SOURCES:
            if source.group in BUILTIN_GROUPS:
                versions[source.kind] = source.versions[0]
        try:
            groups = self.transport.request("GET", "/apis")
        except KubeError as e:
            observability.dependency_error(Dependency.KUBERNETES, e)
            for source in custom:
                errors[source.kind] = f"discovery failed: {e.message}"
            return _Discovered(versions=versions, unserved=frozenset(), errors=errors)
        served_versions = {
            str(g.get("name")): {str(v.get("version")) for v in g.get("versions") or []}
            for g in groups.get("groups") or []
        }
        resources: dict[tuple[str, str], set[str] | KubeError] = {}

        def listed_in(group: str, version: str) -> set[str] | KubeError | None:
            # Fetched on first need: v1beta1 is only asked for when v1 lacks a kind.
            if version not in served_versions.get(group, set()):
                return None
            if (group, version) not in resources:
                resources[(group, version)] = self._resources_of(group, version)
            return resources[(group, version)]

        for source in custom:
            chosen, failure = None, None
            for version in source.versions:
                listed = listed_in(source.group, version)
                if isinstance(listed, KubeError):
                    failure = failure or listed
                elif listed is not None and source.plural in listed:
                    chosen = version
                    break
            if chosen is not None:
                versions[source.kind] = chosen
            elif failure is not None:
                errors[source.kind] = f"discovery failed: {failure.message}"
            else:
                unserved.add(source.kind)
        return _Discovered(versions=versions, unserved=frozenset(unserved), errors=errors)

    def _resources_of(self, group: str, version: str) -> set[str] | KubeError:
        try:
            listed = self.transport.request("GET", f"/apis/{group}/{version}")
        except KubeNotFound:
            return set()
        except KubeError as e:
            observability.dependency_error(Dependency.KUBERNETES, e)
            return e
        return {str(r.get("name")) for r in listed.get("resources") or []}

    def _read_kind(
        self, source: KindSource, version: str
    ) -> tuple[tuple[RawObject, ...], KubeError | None]:
        try:
            if source.kind is Kind.SECRET:
                return self._read_secrets(source, version), None
            if source.kind is Kind.CONFIG_MAP:
                return self._read_mesh_config(source, version), None
            api_version = source.api_version(version)
            items = tuple(
                _cleaned(item, kind=source.kind, api_version=api_version)
                for item in self._list(source.path(version))
            )
            return items, None
        except KubeError as e:
            return (), e

    def _list(
        self, path: str, *, accept: str = JSON, field_selector: str | None = None
    ) -> Iterator[RawObject]:
        """Every item of a collection, page by page (`limit` + `continue`)."""
        token = ""
        while True:
            query = [("limit", str(self.page_size))]
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if token:
                query.append(("continue", token))
            page = self.transport.request("GET", path, query=query, accept=accept)
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    yield item
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    def _read_secrets(self, source: KindSource, version: str) -> tuple[RawObject, ...]:
        if self.secret_namespaces is None:
            paths = [source.path(version)]
        else:
            prefix = source.path(version).removesuffix(f"/{source.plural}")
            paths = [
                f"{prefix}/namespaces/{ns}/{source.plural}" for ns in sorted(self.secret_namespaces)
            ]
        secrets: list[RawObject] = []
        for path in paths:
            secrets.extend(self._read_secrets_at(path))
        return tuple(secrets)

    def _read_secrets_at(self, path: str) -> list[RawObject]:
        tls = {
            _key(item)
            for item in self._list(
                path, accept=PARTIAL_METADATA_LIST, field_selector=f"type={TLS_SECRET_TYPE}"
            )
        }
        secrets = []
        for item in self._list(path, accept=PARTIAL_METADATA_LIST):
            meta = _metadata_without_noise(item.get("metadata") or {})
            annotations = {
                k: v
                for k, v in (meta.get("annotations") or {}).items()
                if k not in _DROPPED_SECRET_ANNOTATIONS
            }
            if "annotations" in meta:
                meta["annotations"] = annotations
            secret: RawObject = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
            if _key(item) in tls:
                secret["type"] = TLS_SECRET_TYPE
            secrets.append(secret)
        return secrets

    def _read_mesh_config(self, source: KindSource, version: str) -> tuple[RawObject, ...]:
        prefix = source.path(version).removesuffix(f"/{source.plural}")
        path = f"{prefix}/namespaces/{self.istio_namespace}/{source.plural}/{MESH_CONFIG_NAME}"
        try:
            config_map = self.transport.request("GET", path)
        except KubeNotFound:
            return ()
        return (_cleaned(config_map, kind=source.kind, api_version=source.api_version(version)),)


def _key(item: RawObject) -> tuple[str, str]:
    meta = item.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _metadata_without_noise(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "managedFields"}


def _cleaned(item: RawObject, *, kind: Kind, api_version: str) -> RawObject:
    """The object as a manifest would give it: kind and apiVersion set, no managedFields."""
    item["apiVersion"] = item.get("apiVersion") or api_version
    item["kind"] = item.get("kind") or kind.value
    if "metadata" in item:
        item["metadata"] = _metadata_without_noise(item["metadata"])
    return item
