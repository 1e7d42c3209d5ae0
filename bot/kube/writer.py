"""Applies planned objects to the cluster: server-side dry run and diff, apply, rollback.

`workflows.actions` decides what a phase applies (`PlannedObject`s); this adapter performs it:

1. `preview(planned)`: for each object, GET the current one and send the server-side apply
   with `dryRun=All`: the server validates and answers with the object it would store, and
   stores nothing. Each `Preview` carries a small unified diff (YAML, before vs after, without
   server bookkeeping) for the approval message.
2. `apply(planned)`: the same server-side apply for real, field manager `meshgate`, `force`
   as the planned object says. The object read just before is sent as a precondition
   (`metadata.resourceVersion`), so the `Applied.before` recorded is exactly what was
   replaced (None when the object was created); if it changed in between, the apply fails
   with KubeConflict instead of recording the wrong thing. When one object of a list fails,
   the ones already applied in that call are rolled back before the error is raised.
3. `rollback(applied)`: in reverse order: delete what was created; re-apply the previous
   object where meshgate owns the whole object; for a patch of a few fields (namespace label,
   restart annotation), re-apply the previous values of just those fields, so fields meshgate
   added and the old object lacked are removed by server-side apply.

`Applied.as_record()` / `Applied.from_record()` turn what rollback needs into JSON for the
state store, so a rollback works from another replica or after a restart.

Errors (defined in `bot.kube_live`, raised here with the object named, cause kept):

    KubeError                 a Kubernetes API call failed; `status`, `reason`, short message
    ├── KubeConfigInvalid     no usable kubeconfig / in-cluster service account
    ├── KubeUnavailable       cannot connect, 5xx, 429: nothing is known to have changed
    │   └── KubeTimeout       no answer within the request timeout (the write may have landed)
    ├── KubeForbidden         401 / 403: meshgate's RBAC lacks the verb (deploy/base/rbac.yaml)
    ├── KubeNotFound          404: the namespace or workload to patch is not there
    ├── KubeConflict          409: changed meanwhile, or a field owned by another manager
    └── KubeInvalid           400 / 415 / 422: the object failed the server's validation
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Self

from bot.kube import credentials, diffs
from bot.kube.credentials import KubeTarget
from bot.kube.errors import KubeError, KubeNotFound, KubeTimeout, KubeUnanswered
from bot.kube.sources import SOURCES
from bot.kube.transport import (
    DEFAULT_TIMEOUT,
    KubeTransport,
    api_client_for_host,
)
from workflows.changes.actions import PlannedObject
from workflows.mesh.snapshot import RawObject

FIELD_MANAGER = "meshgate"
APPLY_PATCH = "application/apply-patch+yaml"
_PLURALS = {source.kind.value: source.plural for source in SOURCES}
_CLUSTER_SCOPED = frozenset({"Namespace"})
_IDENTITY = (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"))


@dataclass(frozen=True)
class Preview:
    """What applying one object would do, according to the server's dry run."""

    planned: PlannedObject
    before: RawObject | None
    after: RawObject
    diff: str

    @property
    def changes(self) -> bool:
        """False when the object is already as planned."""
        return bool(self.diff)


@dataclass(frozen=True)
class Applied:
    """One object applied, with the object it replaced (None when it was created)."""

    planned: PlannedObject
    before: RawObject | None
    after: RawObject

    @property
    def created(self) -> bool:
        """True when the apply created the object."""
        return self.before is None

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for the state store."""
        return {
            "planned": {
                "body": self.planned.body,
                "purpose": self.planned.purpose,
                "whole": self.planned.whole,
                "force": self.planned.force,
            },
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        """The inverse of `as_record`."""
        planned = record["planned"]
        return cls(
            planned=PlannedObject(
                body=planned["body"],
                purpose=str(planned["purpose"]),
                whole=bool(planned["whole"]),
                force=bool(planned["force"]),
            ),
            before=record["before"],
            after=record["after"],
        )


class KubeWriter:
    """Dry-runs, applies and rolls back planned objects with server-side apply."""

    def __init__(self, transport: KubeTransport) -> None:
        self.transport = transport

    @classmethod
    def for_host(
        cls, host: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Self:
        """An API server by URL, with an optional bearer token."""
        return cls(KubeTransport(api_client_for_host(host, token=token), timeout=timeout))

    @classmethod
    def for_target(cls, target: KubeTarget, *, timeout: float = DEFAULT_TIMEOUT) -> Self:
        """The cluster `bot.kube.credentials.choose` picked: the same one the reader uses."""
        return cls(KubeTransport(credentials.api_client(target), timeout=timeout))

    def close(self) -> None:
        """Release pooled connections."""
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the three operations ----------------------------------------------------------------

    def preview(self, planned: Sequence[PlannedObject]) -> list[Preview]:
        """Server-side dry run of each object; nothing is stored."""
        previews = []
        for item in planned:
            before = self._current(item)
            after = self._apply(item, item.body, before=before, force=item.force, dry_run=True)
            previews.append(
                Preview(planned=item, before=before, after=after, diff=diffs.diff(before, after))
            )
        return previews

    def current(self, planned: Sequence[PlannedObject]) -> list[Applied]:
        """Each object as it is now, as the record a rollback restores it from (`after` {})."""
        return [Applied(planned=item, before=self._current(item), after={}) for item in planned]

    def apply(self, planned: Sequence[PlannedObject]) -> list[Applied]:
        """Apply each object in order; on a failure, undo this call's earlier ones and raise.

        A write the server did not answer in time raises KubeUnanswered and undoes nothing: it
        may still be stored, and undoing the others would leave half a change.
        """
        done: list[Applied] = []
        for item in planned:
            try:
                before = self._current(item)
                after = self._apply(item, item.body, before=before, force=item.force)
            except KubeUnanswered:
                raise
            except KubeError:
                self._undo_quietly(done)
                raise
            done.append(Applied(planned=item, before=before, after=after))
        return done

    def rollback(self, applied: Sequence[Applied]) -> list[str]:
        """Restore what `apply` replaced, newest first; returns one line per object."""
        lines = []
        for item in reversed(applied):
            planned = item.planned
            if item.before is None:
                try:
                    self.transport.request("DELETE", _object_path(planned.body))
                except KubeNotFound:
                    lines.append(f"{planned.ref} was already gone")
                    continue
                except KubeError as e:
                    raise e.about(f"delete {planned.ref}") from e
                lines.append(f"deleted {planned.ref}")
                continue
            if planned.whole:
                restore = diffs.without_server_fields(item.before)
            else:
                restore = _project(item.before, onto=planned.body)
            self._apply(planned, restore, before=None, force=True)
            lines.append(f"restored {planned.ref}")
        return lines

    # plumbing ----------------------------------------------------------------------------

    def _current(self, planned: PlannedObject) -> RawObject | None:
        try:
            current = self.transport.request("GET", _object_path(planned.body))
        except KubeNotFound:
            if not planned.whole:
                raise KubeNotFound(
                    f"{planned.ref} does not exist: meshgate only patches it, never creates it",
                    status=404,
                    reason="NotFound",
                ) from None
            return None
        except KubeError as e:
            raise e.about(f"read {planned.ref}") from e
        return dict(current)

    def _apply(
        self,
        planned: PlannedObject,
        body: RawObject,
        *,
        before: RawObject | None,
        force: bool,
        dry_run: bool = False,
    ) -> RawObject:
        config = copy.deepcopy(body)
        if before is not None:
            version = (before.get("metadata") or {}).get("resourceVersion")
            if version:
                config["metadata"]["resourceVersion"] = version
        query = [("fieldManager", FIELD_MANAGER)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            result = self.transport.request(
                "PATCH",
                _object_path(body),
                query=query,
                body=json.dumps(config),  # JSON is YAML: no YAML emitter in the request path
                content_type=APPLY_PATCH,
            )
        except KubeTimeout as e:
            if dry_run:
                raise e.about(f"dry-run apply {planned.ref}") from e
            raise KubeUnanswered(
                f"apply {planned.ref}: {e.detail}; the API server may still store it",
                status=e.status,
                reason=e.reason,
                detail=e.detail,
            ) from e
        except KubeError as e:
            verb = "dry-run apply" if dry_run else "apply"
            raise e.about(f"{verb} {planned.ref}") from e
        return dict(result)

    def _undo_quietly(self, done: Sequence[Applied]) -> None:
        try:
            self.rollback(done)
        except KubeError:
            pass  # the caller sees the first error; what stayed applied is in the cluster


def _object_path(body: RawObject) -> str:
    api_version = str(body["apiVersion"])
    kind = str(body["kind"])
    meta = body["metadata"]
    plural = _PLURALS.get(kind)
    if plural is None:
        raise KubeError(f"meshgate does not write {kind} objects")
    prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    if kind in _CLUSTER_SCOPED:
        return f"{prefix}/{plural}/{meta['name']}"
    return f"{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"


def _leaf_paths(obj: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from _leaf_paths(value, (*prefix, str(key)))
    else:
        yield prefix


def _project(old: RawObject, *, onto: RawObject) -> RawObject:
    """The identity of `onto`, plus `old`'s values at the leaf paths `onto` sets.

    Paths `old` lacks are left out, so server-side apply removes what meshgate had added.
    """
    restored: RawObject = {}
    for path in [*_IDENTITY, *_leaf_paths(onto)]:
        source = onto if path in _IDENTITY else old
        node: Any = source
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            target = restored
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = copy.deepcopy(node)
    return restored
