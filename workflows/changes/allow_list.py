"""The RBAC allow-list decided from the callers Prometheus saw, by mTLS identity.

Pure. Istio labels each request with the caller's identity as a SPIFFE URI
(`source_principal="spiffe://cluster.local/ns/shop/sa/web"`); an AuthorizationPolicy names
principals without the scheme (`cluster.local/ns/shop/sa/web`; istio.io reference,
AuthorizationPolicy Source.principals). A plaintext caller has no identity (`unknown`) and
cannot be admitted by principal: it is left out and named, because enforcing the policy will
deny it. `from_callers` gives the principals for workflows.changes.actions.objects_for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflows.gates.metrics_snapshot import PrincipalCaller

SPIFFE = "spiffe://"
UNKNOWN = "unknown"  # Istio's source_principal for a caller without an mTLS identity


@dataclass(frozen=True)
class LeftOut:
    """A caller seen but not admitted, and why."""

    principal: str
    why: str


@dataclass(frozen=True)
class AllowList:
    """The principals to admit (sorted, unique) and the callers left out."""

    principals: tuple[str, ...]
    left_out: tuple[LeftOut, ...]


def principal_of(source_principal: str) -> str | None:
    """An Istio policy principal from a `source_principal` label; None without an identity."""
    text = source_principal.strip()
    if not text or text == UNKNOWN:
        return None
    return text.removeprefix(SPIFFE)


def from_callers(callers: Iterable[PrincipalCaller]) -> AllowList:
    """Admit every identity that sent requests over the window; name the others."""
    rates: dict[str, float] = {}
    for caller in callers:
        rates[caller.principal] = rates.get(caller.principal, 0.0) + caller.rate
    admitted: set[str] = set()
    left_out = []
    for seen, rate in sorted(rates.items()):
        principal = principal_of(seen)
        if principal is None:
            left_out.append(
                LeftOut(
                    seen,
                    "no mTLS identity (plaintext): it will be denied once the policy is enforced",
                )
            )
        elif rate <= 0:
            left_out.append(LeftOut(seen, "no requests over the window"))
        else:
            admitted.add(principal)
    return AllowList(principals=tuple(sorted(admitted)), left_out=tuple(left_out))
