"""Phase actions as objects: what a phase's change applies to the cluster, built purely.

`objects_for` turns a playbook `PhaseChange` for one service into the objects to apply, each
a server-side apply configuration (the fields meshgate means to own) wrapped in a
`PlannedObject`. Pure: it reads only the snapshot and its arguments (the caller passes `now`);
`bot.kube_writer` performs the side effects (dry run, diff, apply, rollback).

What each change builds (all objects labelled `app.kubernetes.io/managed-by: meshgate`):

- sidecar-injection: the namespace label `istio-injection: enabled` (not when the namespace
  already has it or uses a revision label `istio.io/rev`), then a rollout restart of every
  Deployment and StatefulSet whose pod template the Service selects: the pod-template
  annotation `kubectl.kubernetes.io/restartedAt` set to `now`, as `kubectl rollout restart`
  does.
- peer-authentication: PeerAuthentication `meshgate-<svc>` with the Service's selector and
  `mtls.mode` PERMISSIVE or STRICT (a workload policy: it overrides namespace and mesh ones).
- authorization-policy: AuthorizationPolicy `meshgate-<svc>`, ALLOW, one rule whose source
  principals are the callers given (sorted, deduplicated; SPIFFE URIs as Istio reports them
  are taken without `spiffe://`, and `unknown` is refused: see workflows.changes.allow_list,
  which decides them from the callers observed); with `dry_run` it carries
  `istio.io/dry-run: "true"` (evaluated and logged, not enforced).

Deny-by-default, decided: an enforced ALLOW policy on a workload already denies every request
it does not match (Istio evaluates CUSTOM, DENY, then ALLOW; a workload with any ALLOW policy
denies the rest), so the enforced allow-list is deny-by-default by itself. With
`deny_by_default` the change also applies `meshgate-<svc>-deny-by-default`: `spec` with only
the workload selector, which is Istio's allow-nothing policy. It adds no permission and denies
nothing the allow-list allows, but keeps the workload closed if the allow-list is later deleted
or switched back to dry run (fail closed), and gives the audit one object to name as the cause
when deny-by-default goes away.

Errors: ActionError (a ValueError) when the change cannot be built: the Service is not in the
snapshot, has no selector, or an enforced allow-list would be empty or a wildcard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workflows.changes import allow_list as allow_list_module
from workflows.errors import WorkflowError
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject
from workflows.naming import ServiceRef
from workflows.playbook import ChangeKind, PhaseChange

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshgate"
SERVICE_ANNOTATION = "meshgate.io/service"
DRY_RUN_ANNOTATION = "istio.io/dry-run"
INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
# Written by `kubectl rollout restart` (kubectl/pkg/polymorphichelpers/objectrestarter.go).
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
SECURITY_API = "security.istio.io/v1"
APPS_API = "apps/v1"


class ActionError(WorkflowError, ValueError):
    """The change cannot be built for this service; the message says why."""


@dataclass(frozen=True)
class PlannedObject:
    """One object a phase applies with server-side apply.

    `body` is the apply configuration: apiVersion, kind, metadata (name, namespace) and only
    the fields meshgate owns. `whole` is True when meshgate owns the whole object (rolling back
    its creation deletes it) and False for a few fields on an object that must already exist
    (the namespace label, the restart annotation): those are never created, and rolling them
    back restores the previous values of just those fields. `force` takes a field from another
    field manager instead of failing with a conflict.
    """

    body: RawObject
    purpose: str
    whole: bool
    force: bool

    @property
    def api_version(self) -> str:
        """The body's apiVersion."""
        return str(self.body["apiVersion"])

    @property
    def kind(self) -> str:
        """The body's kind."""
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        """metadata.name."""
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str:
        """metadata.namespace ("" for a cluster-scoped object)."""
        return str(self.body["metadata"].get("namespace", ""))

    @property
    def ref(self) -> str:
        """`Kind ns/name` (or `Kind name`), as findings and messages name objects."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def objects_for(
    change: PhaseChange,
    *,
    service: ServiceRef,
    snapshot: ClusterSnapshot,
    callers: Sequence[str],
    now: datetime,
) -> list[PlannedObject]:
    """The objects that apply `change` to `service`, in the order they must be applied."""
    svc = snapshot.service(service)
    if svc is None:
        raise ActionError(f"Service {service} is not in the cluster snapshot")
    selector = _selector_of(svc)
    if change.kind is ChangeKind.SIDECAR_INJECTION:
        return sidecar_injection(service=service, selector=selector, snapshot=snapshot, now=now)
    if change.kind is ChangeKind.PEER_AUTHENTICATION:
        if change.mode is None:
            raise ActionError("a peer-authentication change needs a mode")
        return [peer_authentication(service=service, selector=selector, mode=change.mode)]
    planned = [
        allow_list(service=service, selector=selector, callers=callers, dry_run=change.dry_run)
    ]
    if change.deny_by_default:
        planned.append(deny_by_default(service=service, selector=selector))
    return planned


def policy_name(service: ServiceRef) -> str:
    """`meshgate-<svc>`: the name of the PeerAuthentication and the allow-list policy."""
    return f"meshgate-{service.name}"


def deny_by_default_name(service: ServiceRef) -> str:
    """`meshgate-<svc>-deny-by-default`: the allow-nothing policy."""
    return f"meshgate-{service.name}-deny-by-default"


def peer_authentication(
    *, service: ServiceRef, selector: Mapping[str, str], mode: str
) -> PlannedObject:
    """A workload PeerAuthentication for the Service's pods with `mode`."""
    if mode not in ("PERMISSIVE", "STRICT"):
        raise ActionError(f"mTLS mode must be PERMISSIVE or STRICT, not {mode!r}")
    body = {
        "apiVersion": SECURITY_API,
        "kind": "PeerAuthentication",
        "metadata": _metadata(service=service, name=policy_name(service)),
        "spec": {"selector": {"matchLabels": dict(selector)}, "mtls": {"mode": mode}},
    }
    return PlannedObject(
        body=body, purpose=f"mTLS {mode} for the pods of {service}", whole=True, force=True
    )


def allow_list(
    *, service: ServiceRef, selector: Mapping[str, str], callers: Sequence[str], dry_run: bool
) -> PlannedObject:
    """An ALLOW AuthorizationPolicy admitting only `callers` (SPIFFE principals)."""
    named = [c for c in callers if c.strip()]
    if any(allow_list_module.principal_of(c) is None for c in named):
        raise ActionError(
            "a caller with no mTLS identity (`unknown`) cannot be admitted by principal: "
            "move it to mTLS first"
        )
    # Istio reports SPIFFE URIs; policies name principals without the scheme.
    principals = sorted({str(allow_list_module.principal_of(c)) for c in named})
    if "*" in principals:
        raise ActionError("a caller principal of `*` would allow every mTLS caller")
    if not principals and not dry_run:
        raise ActionError(
            f"no callers of {service} were seen: an enforced allow-list would deny every request"
        )
    metadata = _metadata(service=service, name=policy_name(service))
    if dry_run:
        metadata["annotations"][DRY_RUN_ANNOTATION] = "true"
    rules = [{"from": [{"source": {"principals": principals}}]}] if principals else []
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)}, "action": "ALLOW"}
    if rules:
        spec["rules"] = rules
    body = {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": metadata,
        "spec": spec,
    }
    how = "dry run (logged, not enforced)" if dry_run else "enforced"
    return PlannedObject(
        body=body,
        purpose=f"allow {len(principals)} caller(s) to {service}, {how}",
        whole=True,
        force=True,
    )


def deny_by_default(*, service: ServiceRef, selector: Mapping[str, str]) -> PlannedObject:
    """Istio's allow-nothing policy (ALLOW, no rules) for the Service's pods."""
    body = {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": _metadata(service=service, name=deny_by_default_name(service)),
        "spec": {"selector": {"matchLabels": dict(selector)}, "action": "ALLOW"},
    }
    return PlannedObject(
        body=body, purpose=f"deny by default for {service}", whole=True, force=True
    )


def injection_label(*, namespace: str) -> PlannedObject:
    """The namespace label that turns on sidecar injection."""
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {INJECTION_LABEL: "enabled"}},
    }
    # No force: if another manager (GitOps) owns the label, say so rather than fight it.
    return PlannedObject(
        body=body, purpose=f"turn on sidecar injection in {namespace}", whole=False, force=False
    )


def rollout_restart(*, kind: str, namespace: str, name: str, now: datetime) -> PlannedObject:
    """The pod-template annotation that restarts a Deployment or StatefulSet."""
    if kind not in (Kind.DEPLOYMENT.value, Kind.STATEFULSET.value):
        raise ActionError(f"cannot restart a {kind}")
    body = {
        "apiVersion": APPS_API,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: _rfc3339(now)}}}
        },
    }
    return PlannedObject(
        body=body,
        purpose=f"restart {kind} {namespace}/{name} so its pods get a sidecar",
        whole=False,
        force=True,
    )


def sidecar_injection(
    *,
    service: ServiceRef,
    selector: Mapping[str, str],
    snapshot: ClusterSnapshot,
    now: datetime,
) -> list[PlannedObject]:
    """The injection label (unless already on), then a restart of each selected workload."""
    planned: list[PlannedObject] = []
    namespace = snapshot.find(Kind.NAMESPACE, namespace="", name=service.namespace)
    labels = _labels(namespace) if namespace is not None else {}
    if labels.get(INJECTION_LABEL) != "enabled" and REVISION_LABEL not in labels:
        planned.append(injection_label(namespace=service.namespace))
    for kind in (Kind.DEPLOYMENT, Kind.STATEFULSET):
        for workload in snapshot.of(kind):
            meta = workload.get("metadata") or {}
            if meta.get("namespace") != service.namespace:
                continue
            template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
            pod_labels = template.get("labels") or {}
            if all(pod_labels.get(k) == v for k, v in selector.items()):
                planned.append(
                    rollout_restart(
                        kind=kind.value,
                        namespace=service.namespace,
                        name=str(meta.get("name")),
                        now=now,
                    )
                )
    return planned


def _selector_of(service: RawObject) -> dict[str, str]:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        meta = service.get("metadata") or {}
        raise ActionError(
            f"Service {meta.get('namespace')}/{meta.get('name')} has no selector: "
            "meshgate cannot tell which pods to target"
        )
    return {str(k): str(v) for k, v in selector.items()}


def _metadata(*, service: ServiceRef, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": service.namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY},
        "annotations": {SERVICE_ANNOTATION: str(service)},
    }


def _labels(obj: RawObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _rfc3339(now: datetime) -> str:
    if now.tzinfo is None:
        raise ActionError("`now` must be timezone-aware")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
