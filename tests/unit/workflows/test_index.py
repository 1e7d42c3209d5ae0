"""The snapshot index: host lookups find every DestinationRule that may apply, in order."""

from __future__ import annotations

import pytest

from workflows.mesh import index
from workflows.mesh.snapshot import ClusterSnapshot, Kind, RawObject


def rule(name: str, namespace: str, host: str) -> RawObject:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"host": host},
    }


RULES = [
    rule("short", "shop", "checkout"),
    rule("ns-wild", "shop", "*.shop.svc.cluster.local"),
    rule("other-ns-wild", "pay", "*.pay.svc.cluster.local"),
    rule("mesh-wild", "istio-system", "*.cluster.local"),
    rule("everything", "istio-system", "*"),
    rule("fqdn", "pay", "checkout.shop.svc.cluster.local"),
    rule("other-service", "shop", "cart"),
]


@pytest.mark.parametrize(
    ("fqdn", "expected"),
    [
        (
            "checkout.shop.svc.cluster.local",
            ["short", "ns-wild", "mesh-wild", "everything", "fqdn"],
        ),
        ("cart.shop.svc.cluster.local", ["ns-wild", "mesh-wild", "everything", "other-service"]),
        ("ledger.pay.svc.cluster.local", ["other-ns-wild", "mesh-wild", "everything"]),
        ("api.stripe.com", ["everything"]),
    ],
    ids=["exact-short-and-fqdn", "other-service", "other-namespace", "external"],
)
def test_targeting_finds_every_rule_that_may_apply_in_snapshot_order(
    fqdn: str, expected: list[str]
) -> None:
    snapshot = ClusterSnapshot(objects={Kind.DESTINATION_RULE: tuple(RULES)})
    found = index.of(snapshot).targeting(Kind.DESTINATION_RULE, fqdn)
    assert [r["metadata"]["name"] for r in found] == expected
