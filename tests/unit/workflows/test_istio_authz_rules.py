"""Authorization rules against Istio's authz builder (issue 10), one table per rule.

Sources: pilot/pkg/security/authz/builder/builder.go (isDryRun, build) and
pilot/pkg/security/authz/model/{model,generator}.go (New, Generate, checkError, the principal
and permission generators), at the istio/istio commit docs/findings.md names.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.mesh import objects, posture
from workflows.mesh.snapshot import RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")
NS = b.injected_namespace("shop")
POD = b.workload_pod("checkout")


def assess(*objs: RawObject) -> posture.ServicePosture:
    return posture.assess(snapshot=kubelet.snapshot_of(*objs), service=SHOP)


def codes(result: posture.ServicePosture) -> list[str]:
    return [f.code for f in result.findings]


# isDryRun (pilot/pkg/security/authz/builder/builder.go) parses with Go's strconv.ParseBool.
DRY_RUN = [("true", True), ("1", True), ("t", True), ("T", True), ("True", True), ("TRUE", True),
           ("false", False), ("0", False), ("TrUe", False), (" true", False), ("yes", False),
           ("", False)]  # fmt: skip


@pytest.mark.parametrize(("value", "dry_run"), DRY_RUN)
def test_dry_run_parses_like_go(value: str, dry_run: bool) -> None:
    policy = b.authorization_policy("a", "shop", spec={"rules": [{}]})
    policy["metadata"]["annotations"] = {"istio.io/dry-run": value}
    assert objects.is_dry_run(policy) is dry_run
    result = assess(NS, b.service("checkout"), POD, policy)
    assert result.authz_default.value == ("allow" if dry_run else "deny")


def policy(action: str, **rule: Any) -> RawObject:
    return b.authorization_policy("p", "shop", spec={"action": action, "rules": [rule]})


PERMISSIVE = b.peer_authentication("default", "shop", "PERMISSIVE")
# The principal generators (pilot/pkg/security/authz/model/generator.go): every source identity
# is matched on the authenticated peer, and `*` is a presence match.
IDENTITIES = [
    pytest.param(
        policy("ALLOW", **{"from": [{"source": {"trustDomains": ["*"]}}]}),
        "MG201",
        id="trust-domains-star",
    ),
    pytest.param(
        policy("ALLOW", **{"from": [{"source": {"namespaces": ["*"]}}]}),
        "MG201",
        id="namespaces-star",
    ),
    pytest.param(
        policy("DENY", **{"from": [{"source": {"serviceAccounts": ["shop/web"]}}]}),
        "MG204",
        id="deny-service-accounts",
    ),
    pytest.param(
        policy("DENY", when=[{"key": "source.trustDomain", "values": ["cluster.local"]}]),
        "MG204",
        id="deny-when-trust-domain",
    ),
    pytest.param(
        policy("ALLOW", when=[{"key": "source.serviceAccount", "values": ["shop/web"]}]),
        "MG205",
        id="allow-when-service-account",
    ),
]


@pytest.mark.parametrize(("raw_policy", "code"), IDENTITIES)
def test_identity_fields(raw_policy: RawObject, code: str) -> None:
    assert code in codes(assess(NS, b.service("checkout"), POD, PERMISSIVE, raw_policy))


def port_svc(name: str) -> RawObject:
    return b.service("checkout", ports=[{"name": name, "port": 80, "targetPort": 8080}])


METHODS_STAR = policy("ALLOW", to=[{"operation": {"methods": ["*"]}}])
# On a TCP filter chain an ALLOW rule with HTTP-only fields is dropped (model.go checkError,
# builder.go "skipped rule ... on TCP filter chain"); sniffed ports get both chains.
ALLOW_ALL = [
    pytest.param(port_svc("http-web"), METHODS_STAR, True, id="http-port"),
    pytest.param(port_svc("tcp-db"), METHODS_STAR, False, id="tcp-port-drops-http-rule"),
    pytest.param(port_svc("db"), METHODS_STAR, True, id="sniffed-port-has-http-chain"),
    pytest.param(port_svc("tcp-db"), policy("ALLOW"), True, id="tcp-port-empty-rule"),
    pytest.param(
        port_svc("tcp-db"),
        policy("ALLOW", to=[{"operation": {"ports": ["8080"]}}]),
        False,
        id="ports-narrow",
    ),
]


@pytest.mark.parametrize(("svc", "raw_policy", "allow_all"), ALLOW_ALL)
def test_allow_all_per_filter_chain(svc: RawObject, raw_policy: RawObject, allow_all: bool) -> None:
    result = assess(NS, svc, POD, raw_policy)
    assert result.allow_all is allow_all
    assert ("MG202" in codes(result)) is allow_all
