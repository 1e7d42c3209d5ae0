"""A small Kubernetes API server for tests, spoken to over real HTTP.

The live cluster reader and writer in `bot/` use the official `kubernetes` client; tests point
that client at this server instead of mocking it (DESIGN.md, "Real parts in tests"). It is
not kmock: kmock crashes on `/api/v1/namespaces` and ignores selectors and dryRun.

What it serves, from in-memory objects seeded from a list of dicts:

- discovery: `/api`, `/api/v1`, `/apis`, `/apis/{group}/{version}` with resource lists; the
  core and apps kinds, security.istio.io and networking.istio.io (v1 and v1beta1),
  cert-manager.io v1 and admissionregistration.k8s.io v1 (MutatingWebhookConfiguration). A
  test can drop a kind or serve it in fewer versions (`serve_only`).
- LIST, cluster-wide and per namespace, with `labelSelector` (`=`, `==`, `!=`, `in`, `notin`,
  exists, `!key`), `fieldSelector` (`metadata.name`, `metadata.namespace`, and `type` for
  Secrets), `limit` and `continue` tokens; metadata-only lists when the client asks with
  `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`.
- GET, POST (201; 409 AlreadyExists), PUT (409 on a stale resourceVersion), PATCH with
  merge-patch, JSON patch, strategic merge (treated as a merge patch; refused with 415 for
  custom resources, as a real server does) and server-side apply (`application/apply-patch+yaml`,
  `fieldManager` required, creates when missing, 409 on a field another manager applied unless
  `force=true`), DELETE, and `dryRun=All` on every write (validated and answered, not stored).
- optional validation of writes against CRD `openAPIV3Schema`s (422 Invalid).
- error injection per method and path glob (any status, optionally only N times) and slow
  responses; a request counter per (method, path).

Simplifications, each on purpose: server-side apply treats lists as atomic (a real server
merges lists of maps by key), and only tracks ownership of applied fields, not updated ones;
resource versions are one global counter; there is no watch.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import json
import ssl
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml

Obj = dict[str, Any]

_PARTIAL_LIST = "as=PartialObjectMetadataList"
_PARTIAL_ONE = "as=PartialObjectMetadata"
# Deterministic creation timestamps: seeded objects without one get BASE + n seconds, so
# "oldest wins" rules see the seeding order.
_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ResourceType:
    """One kind the server can serve: where it lives and in which versions."""

    group: str  # "" for the core group
    versions: tuple[str, ...]
    kind: str
    plural: str
    namespaced: bool
    field_labels: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        """Built-in kinds omit kind/apiVersion on list items; custom resources keep them."""
        return self.group in ("", "apps", "admissionregistration.k8s.io")

    def group_version(self, version: str) -> str:
        """`v1` or `group/version`."""
        return f"{self.group}/{version}" if self.group else version


DEFAULT_RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", ("v1",), "Namespace", "namespaces", False, ("status.phase",)),
    ResourceType("", ("v1",), "Service", "services", True),
    ResourceType("", ("v1",), "Pod", "pods", True, ("status.phase", "spec.nodeName")),
    ResourceType("", ("v1",), "Secret", "secrets", True, ("type",)),
    ResourceType("", ("v1",), "ConfigMap", "configmaps", True),
    ResourceType("", ("v1",), "ServiceAccount", "serviceaccounts", True),
    ResourceType("apps", ("v1",), "Deployment", "deployments", True),
    ResourceType("apps", ("v1",), "StatefulSet", "statefulsets", True),
    ResourceType("security.istio.io", ("v1", "v1beta1"), "PeerAuthentication",
                 "peerauthentications", True),
    ResourceType("security.istio.io", ("v1", "v1beta1"), "AuthorizationPolicy",
                 "authorizationpolicies", True),
    ResourceType("security.istio.io", ("v1", "v1beta1"), "RequestAuthentication",
                 "requestauthentications", True),
    ResourceType("networking.istio.io", ("v1", "v1beta1"), "DestinationRule",
                 "destinationrules", True),
    ResourceType("networking.istio.io", ("v1", "v1beta1"), "VirtualService",
                 "virtualservices", True),
    ResourceType("networking.istio.io", ("v1", "v1beta1"), "Gateway", "gateways", True),
    ResourceType("networking.istio.io", ("v1", "v1beta1"), "ServiceEntry",
                 "serviceentries", True),
    ResourceType("networking.istio.io", ("v1", "v1beta1"), "Sidecar", "sidecars", True),
    ResourceType("cert-manager.io", ("v1",), "Certificate", "certificates", True),
    ResourceType("admissionregistration.k8s.io", ("v1",), "MutatingWebhookConfiguration",
                 "mutatingwebhookconfigurations", False),
)  # fmt: skip


@dataclass
class Fault:
    """An injected failure or delay for requests matching `method` and the `path` glob."""

    path: str
    method: str | None = None
    status: int | None = None
    delay: float = 0.0
    times: int | None = None  # None: every matching request
    message: str = ""

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to the request (and has uses left)."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str = ""
    accept: str = ""


class ApiError(Exception):
    """Answered as a Kubernetes `Status` object."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


@dataclass
class _Stored:
    obj: Obj
    applied: dict[str, Obj] = field(default_factory=dict)  # field manager -> last config


class FakeKubeApi:
    """The server; start with `start()` (or as a context manager), then use `url`."""

    def __init__(
        self,
        objects: Iterable[Obj] = (),
        *,
        resources: Sequence[ResourceType] = DEFAULT_RESOURCES,
        schemas: Mapping[tuple[str, str, str], Obj] | None = None,
        token: str | None = None,
    ) -> None:
        self.token = token  # when set, every request needs `Authorization: Bearer <token>`
        self.statuses: list[tuple[str, str, int]] = []  # (method, path, status) answered
        self._lock = threading.RLock()
        self._types: dict[str, ResourceType] = {r.kind: r for r in resources}
        self._served: dict[str, tuple[str, ...]] = {r.kind: r.versions for r in resources}
        self._schemas = dict(schemas or {})
        self._store: dict[str, dict[tuple[str, str], _Stored]] = {r.kind: {} for r in resources}
        self._rv = 0
        self._faults: list[Fault] = []
        self.requests: Counter[tuple[str, str]] = Counter()
        self.log: list[Request] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._scheme = "http"
        self._thread: threading.Thread | None = None
        self.seed(objects)

    # lifecycle ---------------------------------------------------------------------------

    def start(self, *, tls: ssl.SSLContext | None = None) -> FakeKubeApi:
        """Listen on a free loopback port in a background thread (HTTPS with `tls`)."""
        handler = type("_BoundHandler", (_Handler,), {"api": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            self._scheme = "https"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kube-api"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow responses in flight are cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeKubeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (https when started with `tls`)."""
        if self._server is None:
            raise RuntimeError("the fake API server is not started")
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    # configuration -----------------------------------------------------------------------

    def drop(self, kind: str) -> None:
        """Stop serving `kind` (as if its CRD were not installed); its objects stay stored."""
        with self._lock:
            self._served[kind] = ()

    def serve_only(self, kind: str, *versions: str) -> None:
        """Serve `kind` in these versions only (e.g. Sidecar only in v1beta1)."""
        with self._lock:
            self._served[kind] = tuple(versions)

    def fail(
        self,
        path: str,
        status: int,
        *,
        method: str | None = None,
        times: int | None = None,
        message: str = "",
        delay: float = 0.0,
    ) -> Fault:
        """Answer requests matching the `path` glob with `status` (a Kubernetes Status).

        With `delay`, the answer comes that many seconds later and nothing is stored: a
        request the server held and then did not carry out.
        """
        fault = Fault(
            path=path, method=method, status=status, times=times, message=message, delay=delay
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def slow(self, path: str, seconds: float, *, method: str | None = None) -> Fault:
        """Delay responses to requests matching the `path` glob by `seconds`."""
        fault = Fault(path=path, method=method, delay=seconds)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected failure and delay."""
        with self._lock:
            self._faults.clear()

    def reset_counts(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()
            self.log.clear()
            self.statuses.clear()

    def count(self, *, method: str | None = None, path: str | None = None) -> int:
        """Requests seen, optionally filtered by method and path glob."""
        with self._lock:
            return sum(
                n
                for (m, p), n in self.requests.items()
                if (method is None or m == method)
                and (path is None or fnmatch.fnmatchcase(p, path))
            )

    # store access ------------------------------------------------------------------------

    def seed(self, objects: Iterable[Obj]) -> None:
        """Store objects as they are (a namespace is filled in; server fields are added)."""
        with self._lock:
            for obj in objects:
                rtype = self._type_of(obj)
                body = copy.deepcopy(obj)
                meta = body.setdefault("metadata", {})
                if rtype.namespaced:
                    meta.setdefault("namespace", "default")
                self._stamp(body, created=True)
                key = (meta.get("namespace", ""), str(meta["name"]))
                self._store[rtype.kind][key] = _Stored(obj=body)

    def get(self, kind: str, *, name: str, namespace: str = "") -> Obj | None:
        """A copy of the stored object, or None."""
        with self._lock:
            stored = self._store[kind].get((namespace, name))
            return copy.deepcopy(stored.obj) if stored else None

    def objects(self, kind: str) -> list[Obj]:
        """Copies of every stored object of `kind`."""
        with self._lock:
            return [copy.deepcopy(s.obj) for s in self._store[kind].values()]

    # request handling --------------------------------------------------------------------

    def handle(
        self, *, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Obj]:
        """Answer one request: (status, JSON body). Called by the HTTP handler thread."""
        headers = {k.lower(): v for k, v in headers.items()}  # header names ignore case
        split = urlsplit(target)
        path = split.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(
            method=method,
            path=path,
            query=query,
            content_type=headers.get("content-type", ""),
            accept=headers.get("accept", ""),
        )
        with self._lock:
            self.requests[(method, path)] += 1
            self.log.append(request)
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
        status, payload = self._answer(request, body, fault, headers)
        with self._lock:
            self.statuses.append((method, path, status))
        return status, payload

    def _answer(
        self, request: Request, body: bytes, fault: Fault | None, headers: Mapping[str, str]
    ) -> tuple[int, Obj]:
        # The scheme is case-insensitive, as the API server reads it (the official client's
        # in-cluster loader sends `bearer TOKEN`).
        scheme, _, token = str(headers.get("authorization") or "").partition(" ")
        if self.token is not None and (scheme.lower() != "bearer" or token != self.token):
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
        if fault is not None and fault.status is not None:
            message = fault.message or f"injected failure for {request.method} {request.path}"
            return fault.status, _status(fault.status, _reason(fault.status), message)
        try:
            with self._lock:
                return self._route(request, body)
        except ApiError as e:
            return e.code, _status(e.code, e.reason, e.message)

    def _route(self, request: Request, body: bytes) -> tuple[int, Obj]:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["api"]:
            return 200, {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [],
            }
        if parts == ["apis"]:
            return 200, self._group_list()
        if len(parts) == 2 and parts[0] == "api":
            return 200, self._resource_list("", parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return 200, self._resource_list(parts[1], parts[2])
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find {request.path}")
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        if len(rest) > 2:
            raise ApiError(404, "NotFound", "subresources are not served")
        rtype = self._served_type(group, version, plural)
        if namespace and not rtype.namespaced:
            raise ApiError(404, "NotFound", f"{plural} is not namespaced")
        gv = rtype.group_version(version)
        if name is None:
            if request.method == "GET":
                return 200, self._list(rtype, gv, namespace, request)
            if request.method == "POST":
                return self._create(rtype, gv, namespace, request, body)
            raise ApiError(405, "MethodNotAllowed", f"{request.method} on a collection")
        if rtype.namespaced and not namespace:
            raise ApiError(404, "NotFound", f"{plural} is namespaced")
        key = (namespace, name)
        if request.method == "GET":
            return 200, self._out(rtype, gv, self._existing(rtype, key).obj, request.accept)
        if request.method == "PUT":
            return self._replace(rtype, gv, key, request, body)
        if request.method == "PATCH":
            return self._patch(rtype, gv, key, request, body)
        if request.method == "DELETE":
            stored = self._existing(rtype, key)
            if request.query.get("dryRun") != "All":
                del self._store[rtype.kind][key]
            return 200, self._out(rtype, gv, stored.obj, "")
        raise ApiError(405, "MethodNotAllowed", f"{request.method} on an object")

    # discovery

    def _group_list(self) -> Obj:
        groups: dict[str, list[str]] = {}
        for rtype in self._types.values():
            if rtype.group:
                for version in self._served[rtype.kind]:
                    versions = groups.setdefault(rtype.group, [])
                    if version not in versions:
                        versions.append(version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": group,
                    "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                    "preferredVersion": {"groupVersion": f"{group}/{versions[0]}",
                                         "version": versions[0]},
                }
                for group, versions in groups.items()
                if versions
            ],
        }  # fmt: skip

    def _resource_list(self, group: str, version: str) -> Obj:
        served = [
            r for r in self._types.values() if r.group == group and version in self._served[r.kind]
        ]
        if not served:
            raise ApiError(404, "NotFound", f"the server could not find {group}/{version}")
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": served[0].group_version(version),
            "resources": [
                {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": verbs}
                for r in served
            ],
        }  # fmt: skip

    def _served_type(self, group: str, version: str, plural: str) -> ResourceType:
        for rtype in self._types.values():
            if rtype.group == group and rtype.plural == plural:
                if version in self._served[rtype.kind]:
                    return rtype
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    # reads

    def _list(self, rtype: ResourceType, gv: str, namespace: str, request: Request) -> Obj:
        labels = _parse_label_selector(request.query.get("labelSelector", ""))
        fields = _parse_field_selector(request.query.get("fieldSelector", ""), rtype)
        items = [
            s.obj
            for (ns, _), s in sorted(self._store[rtype.kind].items())
            if (not namespace or ns == namespace)
            and all(term(_labels_of(s.obj)) for term in labels)
            and all(term(s.obj) for term in fields)
        ]
        offset = _decode_continue(request.query.get("continue", ""))
        limit = int(request.query.get("limit") or 0)
        page = items[offset : offset + limit] if limit > 0 else items[offset:]
        meta: Obj = {"resourceVersion": str(self._rv)}
        if limit > 0 and offset + limit < len(items):
            meta["continue"] = _encode_continue(offset + limit)
            meta["remainingItemCount"] = len(items) - offset - limit
        if _PARTIAL_LIST in request.accept:
            return {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": [
                    {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                     "metadata": copy.deepcopy(o["metadata"])}
                    for o in page
                ],
            }  # fmt: skip
        out = []
        for obj in page:
            item = self._out(rtype, gv, obj, "")
            if rtype.builtin:
                item.pop("kind", None)
                item.pop("apiVersion", None)
            out.append(item)
        return {"kind": f"{rtype.kind}List", "apiVersion": gv, "metadata": meta, "items": out}

    def _existing(self, rtype: ResourceType, key: tuple[str, str]) -> _Stored:
        stored = self._store[rtype.kind].get(key)
        if stored is None:
            raise ApiError(404, "NotFound", f'{rtype.plural} "{key[1]}" not found')
        return stored

    def _out(self, rtype: ResourceType, gv: str, obj: Obj, accept: str) -> Obj:
        if _PARTIAL_ONE in accept:
            return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": copy.deepcopy(obj["metadata"])}  # fmt: skip
        out = copy.deepcopy(obj)
        out["apiVersion"] = gv
        out["kind"] = rtype.kind
        return out

    # writes

    def _create(
        self, rtype: ResourceType, gv: str, namespace: str, request: Request, body: bytes
    ) -> tuple[int, Obj]:
        obj = _json_body(body)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value")
        self._check_namespace(rtype, namespace, meta)
        key = (namespace, str(name))
        if key in self._store[rtype.kind]:
            raise ApiError(409, "AlreadyExists", f'{rtype.plural} "{name}" already exists')
        obj["apiVersion"], obj["kind"] = gv, rtype.kind
        self._validate(rtype, gv, obj)
        self._stamp(obj, created=True, manager=request.query.get("fieldManager"), op="Update")
        if request.query.get("dryRun") != "All":
            self._store[rtype.kind][key] = _Stored(obj=obj)
        return 201, self._out(rtype, gv, obj, "")

    def _replace(
        self, rtype: ResourceType, gv: str, key: tuple[str, str], request: Request, body: bytes
    ) -> tuple[int, Obj]:
        stored = self._existing(rtype, key)
        obj = _json_body(body)
        meta = obj.setdefault("metadata", {})
        self._check_namespace(rtype, key[0], meta)
        if meta.get("name") != key[1]:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != stored.obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified; please retry")
        for keep in ("uid", "creationTimestamp"):
            meta[keep] = stored.obj["metadata"][keep]
        obj["apiVersion"], obj["kind"] = gv, rtype.kind
        return self._commit(rtype, gv, key, stored, obj, request, op="Update")

    def _patch(
        self, rtype: ResourceType, gv: str, key: tuple[str, str], request: Request, body: bytes
    ) -> tuple[int, Obj]:
        content_type = request.content_type.split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            return self._apply(rtype, gv, key, request, body)
        stored = self._existing(rtype, key)
        current = copy.deepcopy(stored.obj)
        if content_type == "application/merge-patch+json":
            patched = _merge_patch(current, _json_body(body))
        elif content_type == "application/strategic-merge-patch+json":
            if not rtype.builtin:
                raise ApiError(
                    415, "UnsupportedMediaType", "strategic merge patch is not supported for CRDs"
                )
            patched = _merge_patch(current, _json_body(body))
        elif content_type == "application/json-patch+json":
            operations = json.loads(body or b"[]")
            if not isinstance(operations, list):
                raise ApiError(400, "BadRequest", "a JSON patch is a list of operations")
            patched = _json_patch(current, operations)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")
        if not isinstance(patched, dict):
            raise ApiError(422, "Invalid", "the patch does not give an object")
        patched["apiVersion"], patched["kind"] = gv, rtype.kind
        return self._commit(rtype, gv, key, stored, patched, request, op="Update")

    def _apply(
        self, rtype: ResourceType, gv: str, key: tuple[str, str], request: Request, body: bytes
    ) -> tuple[int, Obj]:
        manager = request.query.get("fieldManager")
        if not manager:
            raise ApiError(400, "BadRequest", "fieldManager is required for apply requests")
        try:
            config = yaml.safe_load(body.decode("utf-8")) if body else None
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ApiError(400, "BadRequest", f"the apply body is not YAML: {e}") from e
        if not isinstance(config, dict):
            raise ApiError(400, "BadRequest", "the apply body must be an object")
        meta = config.setdefault("metadata", {})
        if meta.get("name") != key[1]:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        self._check_namespace(rtype, key[0], meta)
        if config.get("kind") != rtype.kind or config.get("apiVersion") != gv:
            raise ApiError(400, "BadRequest", f"apply needs apiVersion {gv} and kind {rtype.kind}")
        stored = self._store[rtype.kind].get(key)
        force = request.query.get("force") == "true"
        precondition = meta.pop("resourceVersion", None)  # a precondition, not a field to own
        if precondition is not None and (
            stored is None or stored.obj["metadata"]["resourceVersion"] != str(precondition)
        ):
            raise ApiError(409, "Conflict", "the object has been modified; please apply again")
        if stored is None:
            obj = copy.deepcopy(config)
            self._validate(rtype, gv, obj)
            self._stamp(obj, created=True, manager=manager, op="Apply")
            if request.query.get("dryRun") != "All":
                self._store[rtype.kind][key] = _Stored(obj=obj, applied={manager: config})
            return 201, self._out(rtype, gv, obj, "")
        conflicts = [
            (other, path)
            for other, their in stored.applied.items()
            if other != manager
            for path, value in _leaves(config)
            if path[:1] != ("metadata",) or path[:2] in (("metadata", "labels"),
                                                         ("metadata", "annotations"))
            if _at(their, path, _MISSING) not in (_MISSING, value)
        ]  # fmt: skip
        if conflicts and not force:
            other, path = conflicts[0]
            raise ApiError(409, "Conflict", f'Apply failed with 1 conflict: conflict with "{other}"'
                                            f': .{".".join(path)}')  # fmt: skip
        merged = copy.deepcopy(stored.obj)
        previous = stored.applied.get(manager, {})
        still_owned = {p for other, cfg in stored.applied.items() if other != manager
                       for p, _ in _leaves(cfg)}  # fmt: skip
        for path, _ in _leaves(previous):
            if _at(config, path, _MISSING) is _MISSING and path not in still_owned:
                _remove(merged, path)
        merged = _merge_patch(merged, config)
        applied = dict(stored.applied)
        applied[manager] = config
        if force:
            for other in list(applied):
                if other != manager and any(o == other for o, _ in conflicts):
                    applied[other] = _without(applied[other], [p for o, p in conflicts
                                                               if o == other])  # fmt: skip
        status, out = self._commit(rtype, gv, key, stored, merged, request, op="Apply")
        if request.query.get("dryRun") != "All":
            self._store[rtype.kind][key].applied = applied
        return status, out

    def _commit(
        self,
        rtype: ResourceType,
        gv: str,
        key: tuple[str, str],
        stored: _Stored,
        obj: Obj,
        request: Request,
        *,
        op: str,
    ) -> tuple[int, Obj]:
        meta = obj.setdefault("metadata", {})
        meta["name"] = key[1]
        if rtype.namespaced:
            meta["namespace"] = key[0]
        self._validate(rtype, gv, obj)
        manager = request.query.get("fieldManager")
        if request.query.get("dryRun") == "All":
            preview = copy.deepcopy(obj)
            return 200, self._out(rtype, gv, preview, "")
        if _comparable(obj) != _comparable(stored.obj):
            self._stamp(obj, created=False, manager=manager, op=op)
        self._store[rtype.kind][key] = _Stored(obj=obj, applied=stored.applied)
        return 200, self._out(rtype, gv, obj, "")

    def _check_namespace(self, rtype: ResourceType, namespace: str, meta: Obj) -> None:
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.setdefault("namespace", namespace)
        if given != namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
            )

    def _validate(self, rtype: ResourceType, gv: str, obj: Obj) -> None:
        schema = self._schemas.get((rtype.group, gv.rsplit("/", 1)[-1], rtype.kind))
        if schema is None:
            return
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=str)
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.absolute_path) or "<root>"
            raise ApiError(422, "Invalid", f"{rtype.kind} is invalid: {where}: {first.message}")

    def _stamp(
        self, obj: Obj, *, created: bool, manager: str | None = None, op: str = "Update"
    ) -> None:
        self._rv += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._rv)
        if created:
            meta.setdefault("uid", f"00000000-0000-4000-8000-{self._rv:012d}")
            stamp = _BASE_TIME + timedelta(seconds=self._rv)
            meta.setdefault("creationTimestamp", stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta["generation"] = 1
        else:
            meta["generation"] = int(meta.get("generation", 1)) + 1
        if manager:
            entries = [e for e in meta.get("managedFields", []) if e.get("manager") != manager]
            entries.append({"manager": manager, "operation": op, "fieldsType": "FieldsV1"})
            meta["managedFields"] = entries

    def _type_of(self, obj: Obj) -> ResourceType:
        kind = str(obj.get("kind", ""))
        rtype = self._types.get(kind)
        if rtype is None:
            raise ValueError(f"the fake API server does not know kind {kind!r}")
        return rtype


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeApi
    protocol_version = "HTTP/1.1"
    # Headers and body in one buffered write, no Nagle: otherwise every keep-alive response
    # waits for the client's delayed ACK (about 40 ms on Linux).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.api.handle(
            method=self.command,
            target=self.path,
            headers=dict(self.headers.items()),
            body=body,
        )
        data = json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the request counter is the log."""

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass


# helpers ---------------------------------------------------------------------------------

_MISSING: Any = object()


def load_crd_schemas(path: Path) -> dict[tuple[str, str, str], Obj]:
    """(group, version, kind) -> openAPIV3Schema of every served version in a CRD bundle."""
    schemas: dict[tuple[str, str, str], Obj] = {}
    for doc in yaml.safe_load_all(path.read_text("utf-8")):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return schemas


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _reason(code: int) -> str:
    return {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        410: "Expired",
        422: "Invalid",
        429: "TooManyRequests",
        500: "InternalError",
        503: "ServiceUnavailable",
        504: "Timeout",
    }.get(code, "Unknown")


def _json_body(body: bytes) -> Obj:
    try:
        obj = json.loads(body or b"{}")
    except json.JSONDecodeError as e:
        raise ApiError(400, "BadRequest", f"the body is not JSON: {e}") from e
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", "the body must be a JSON object")
    return obj


def _encode_continue(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_continue(token: str) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as e:
        raise ApiError(400, "BadRequest", "invalid continue token") from e


def _labels_of(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _split_terms(selector: str) -> Iterator[str]:
    depth, start = 0, 0
    for i, char in enumerate(selector):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            yield selector[start:i].strip()
            start = i + 1
    tail = selector[start:].strip()
    if tail:
        yield tail


def _parse_label_selector(selector: str) -> list[Any]:
    """Terms of a label selector as predicates over a label mapping (k8s.io/apimachinery)."""
    terms: list[Any] = []
    for term in _split_terms(selector):
        words = term.split()
        if len(words) == 2 and words[1].startswith(("in(", "notin(")):
            words = [words[0], *words[1].split("(", 1)]
            words[2] = "(" + words[2]
        if len(words) >= 3 and words[1] in ("in", "notin"):
            key, op, rest = words[0], words[1], " ".join(words[2:])
            if not (rest.startswith("(") and rest.endswith(")")):
                raise ApiError(400, "BadRequest", f"unable to parse requirement: {term}")
            values = frozenset(v.strip() for v in rest[1:-1].split(",") if v.strip())
            if op == "in":
                terms.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                terms.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            terms.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            terms.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            absent = term[1:].strip()
            terms.append(lambda labels, k=absent: k not in labels)
        elif term and " " not in term:
            terms.append(lambda labels, k=term: k in labels)
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {term}")
    return terms


def _parse_field_selector(selector: str, rtype: ResourceType) -> list[Any]:
    supported = {"metadata.name", "metadata.namespace", *rtype.field_labels}
    terms: list[Any] = []
    for term in _split_terms(selector):
        negate = "!=" in term
        key, value = (s.strip() for s in term.replace("==", "=").replace("!=", "=").split("=", 1))
        if key not in supported:
            raise ApiError(
                400, "BadRequest", f'field label not supported: "{key}" for {rtype.plural}'
            )
        path = tuple(key.split("."))
        if negate:
            terms.append(lambda obj, p=path, v=value: str(_at(obj, p, "")) != v)
        else:
            terms.append(lambda obj, p=path, v=value: str(_at(obj, p, "")) == v)
    return terms


def _at(obj: Any, path: Sequence[str], default: Any) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return default
        obj = obj[part]
    return obj


def _leaves(obj: Obj, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) for every non-mapping value; lists are leaves (atomic)."""
    for key, value in obj.items():
        path = (*prefix, key)
        if path in (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")):
            continue
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _remove(obj: Obj, path: Sequence[str]) -> None:
    parents = [obj]
    for part in path[:-1]:
        nxt = parents[-1].get(part)
        if not isinstance(nxt, dict):
            return
        parents.append(nxt)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):  # drop mappings the removal emptied
        if parents[depth] == {}:
            parents[depth - 1].pop(path[depth - 1], None)


def _without(config: Obj, paths: Sequence[tuple[str, ...]]) -> Obj:
    out = copy.deepcopy(config)
    for path in paths:
        _remove(out, path)
    return out


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(doc: Any, operations: Sequence[Any]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test, move, copy)."""
    doc = copy.deepcopy(doc)

    def parent_of(parts: list[str]) -> tuple[Any, str]:
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def read(parts: list[str]) -> Any:
        node = doc
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def add(parts: list[str], value: Any) -> None:
        node, last = parent_of(parts)
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), value)
        else:
            node[last] = value

    def remove(parts: list[str]) -> Any:
        node, last = parent_of(parts)
        return node.pop(int(last)) if isinstance(node, list) else node.pop(last)

    try:
        for op in operations:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "test":
                if read(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"test failed at {op['path']}")
            elif kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = remove(source) if kind == "move" else copy.deepcopy(read(source))
                add(parts, value)
            else:
                raise ApiError(422, "Invalid", f"unknown JSON patch op {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise ApiError(422, "Invalid", f"the JSON patch does not apply: {e!r}") from e
    return doc


def _comparable(obj: Obj) -> Obj:
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "generation", "managedFields")
    }
    return {**obj, "metadata": meta}
