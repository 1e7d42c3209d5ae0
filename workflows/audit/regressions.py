"""Regressions: what got worse since a baseline audit, and which object's change explains it.

The baseline is an earlier audit report (read back from JSON); the current side is a report
plus the postures it was built from, because only the current snapshot can say *why*: the
PeerAuthentication that now decides a weaker mode, the namespace whose injection label went
away, the AuthorizationPolicy that was removed or put in dry-run. The cause is named the same
way for every service it affects (`PeerAuthentication istio-system/default`), so one mesh-wide
change is one cause across many services and alerts can group by it. Pure: no I/O.

Kinds (DESIGN.md): mtls_weakened, sidecar_missing, default_deny_removed, allow_broadened,
policy_unenforced. plaintext_traffic needs metrics and is not produced here. Services that
are in only one of the two reports are not compared; UNKNOWN on either side is not a regression
(could not check is reported by findings, not guessed into a regression).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workflows.audit.report import AuditReport, Regression, RegressionKind, ServiceAudit
from workflows.mesh import authz, findings, mtls, objects
from workflows.mesh.authz import DefaultDecision
from workflows.mesh.mtls import MtlsMode
from workflows.mesh.posture import ServicePosture, mesh_default_cause
from workflows.mesh.sidecars import ProxyState, SidecarState
from workflows.mesh.workload_posture import sidecar_cause

_SIDECAR_RANK = {SidecarState.MISSING: 0, SidecarState.PARTIAL: 1, SidecarState.INJECTED: 2}
_UNENFORCED_CODES = {findings.POLICY_DRY_RUN.code, findings.POLICY_AUDIT.code}


def compare(
    *,
    baseline: AuditReport,
    current: AuditReport,
    postures: Mapping[str, ServicePosture],
    root_namespace: str,
) -> list[Regression]:
    """Regressions of `current` against `baseline`, sorted by cause, kind and service."""
    found: list[Regression] = []
    earlier = {s.service: s for s in baseline.services}  # one lookup per service, not a scan
    for now in current.services:
        before = earlier.get(now.service)
        posture = postures.get(now.service)
        if before is None or posture is None or not posture.found:
            continue
        found.extend(_mtls(before, now, posture, root_namespace))
        found.extend(_sidecar(before, now, posture))
        found.extend(_authz(before, now, posture))
    return sorted(found, key=lambda r: (r.cause, r.kind.value, r.service, r.port or 0))


def _mtls(
    before: ServiceAudit, now: ServiceAudit, posture: ServicePosture, root: str
) -> Iterable[Regression]:
    def weaker(old: MtlsMode, new: MtlsMode) -> bool:
        known = MtlsMode.UNKNOWN not in (old, new)
        return known and mtls.rank(new) < mtls.rank(old)

    if weaker(before.mtls.mode, now.mtls.mode):
        yield Regression(
            kind=RegressionKind.MTLS_WEAKENED,
            service=now.service,
            before=before.mtls.mode.value,
            after=now.mtls.mode.value,
            cause=_mode_cause(posture, now.mtls.mode, port=None, root=root),
        )
        return
    for port, mode in sorted(now.mtls.ports.items()):
        old = before.mtls.ports.get(port)
        if old is not None and weaker(old, mode):
            yield Regression(
                kind=RegressionKind.MTLS_WEAKENED,
                service=now.service,
                before=old.value,
                after=mode.value,
                cause=_mode_cause(posture, mode, port=int(port), root=root),
                port=int(port),
            )


def _mode_cause(posture: ServicePosture, mode: MtlsMode, *, port: int | None, root: str) -> str:
    """The decider of the first workload port in `mode` (the one that made the service weak)."""
    for wp in posture.workloads:
        for number, item in sorted(wp.ports.items()):
            if item.mode is mode and (port is None or number == port):
                return item.decided_by or mesh_default_cause(root)
    return mesh_default_cause(root)


def _sidecar(
    before: ServiceAudit, now: ServiceAudit, posture: ServicePosture
) -> Iterable[Regression]:
    old, new = _SIDECAR_RANK.get(before.sidecar), _SIDECAR_RANK.get(now.sidecar)
    if old is None or new is None or new >= old:
        return
    causes = [
        sidecar_cause(wp.sidecar)
        for wp in posture.workloads
        if wp.sidecar.pods_in(ProxyState.ABSENT)
    ]
    causes += [
        wp.workload.ref for wp in posture.workloads if wp.sidecar.state is not SidecarState.INJECTED
    ]
    yield Regression(
        kind=RegressionKind.SIDECAR_MISSING,
        service=now.service,
        before=before.sidecar.value,
        after=now.sidecar.value,
        cause=causes[0] if causes else f"Service {now.service}",
    )


def _authz(
    before: ServiceAudit, now: ServiceAudit, posture: ServicePosture
) -> Iterable[Regression]:
    current = {authz.policy_name(p): p for wp in posture.workloads for p in wp.authz.policies}
    if before.authz.default is DefaultDecision.DENY and now.authz.default is DefaultDecision.ALLOW:
        removed = sorted(set(before.authz.policies) - set(current))
        unenforced = sorted(
            name
            for name in before.authz.policies
            if name in current and not authz.enforced(current[name])
        )
        bare = [wp.workload.ref for wp in posture.workloads if not wp.authz.deny_by_default]
        if removed:
            cause = f"AuthorizationPolicy {removed[0]}"
        elif unenforced:
            cause = f"AuthorizationPolicy {unenforced[0]}"
        else:
            cause = bare[0] if bare else f"Service {now.service}"
        yield Regression(
            kind=RegressionKind.DEFAULT_DENY_REMOVED,
            service=now.service,
            before=before.authz.default.value,
            after=now.authz.default.value,
            cause=cause,
        )
    if now.authz.allow_all and not before.authz.allow_all:
        broad = sorted(objects.ref(p) for wp in posture.workloads for p in wp.authz.allow_all_by)
        yield Regression(
            kind=RegressionKind.ALLOW_BROADENED,
            service=now.service,
            before="allow_all=false",
            after="allow_all=true",
            cause=broad[0] if broad else f"Service {now.service}",
        )
    else:
        old_wildcards = _objects_of(before, {findings.WILDCARD_PRINCIPAL.code})
        for policy in sorted(_objects_of(now, {findings.WILDCARD_PRINCIPAL.code}) - old_wildcards):
            yield Regression(
                kind=RegressionKind.ALLOW_BROADENED,
                service=now.service,
                before="no wildcard principal",
                after='principals or namespaces "*"',
                cause=policy,
            )
    old_unenforced = _objects_of(before, _UNENFORCED_CODES)
    for name in sorted(set(before.authz.policies) & set(current)):
        still = current[name]
        ref = objects.ref(still)
        if authz.enforced(still) or ref in old_unenforced:
            continue
        yield Regression(
            kind=RegressionKind.POLICY_UNENFORCED,
            service=now.service,
            before="enforced",
            after="dry-run" if objects.is_dry_run(still) else "audit",
            cause=ref,
        )


def _objects_of(audit: ServiceAudit, codes: set[str]) -> set[str]:
    return {obj for f in audit.findings if f.code in codes for obj in f.objects}
