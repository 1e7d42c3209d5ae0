"""The certificate check where meshgate may list Secrets only in some namespaces.

deploy/ grants `list` on Secrets only in the ingress gateways' namespaces
(MESHGATE_SECRET_NAMESPACES). A gateway credential in a namespace meshgate did not look in is
`unknown` (not looked for), never `fail` (absent) and never `pass`.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.unit.workflows.fixtures_posture import builders as b
from tests.unit.workflows.fixtures_posture import kubelet
from workflows.gates.posture_checks import CHECKS
from workflows.gates.verdicts import Verdict
from workflows.mesh.snapshot import RawObject
from workflows.naming import ServiceRef

SHOP = ServiceRef("shop", "checkout")


def ingress(gateway_namespace: str) -> list[RawObject]:
    """A service behind a Gateway whose gateway pods run in `gateway_namespace`."""
    pod = kubelet.pod(name="gw-1", namespace=gateway_namespace, labels={"istio": "ingressgateway"})
    gateway = b.istio_object(
        "Gateway",
        "shop-gateway",
        "shop",
        {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": ["shop.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"},
                }
            ],
        },
    )
    route = b.istio_object(
        "VirtualService",
        "checkout",
        "shop",
        {
            "hosts": ["shop.example.com"],
            "gateways": ["shop-gateway"],
            "http": [{"route": [{"destination": {"host": "checkout", "port": {"number": 80}}}]}],
        },
    )
    return [
        b.injected_namespace("shop"),
        b.service("checkout"),
        b.workload_pod("checkout"),
        pod,
        gateway,
        route,
    ]


def certificate(namespace: str) -> RawObject:
    return b.certificate("shop-cert", namespace, secret_name="shop-cert", ready=True)


@pytest.mark.parametrize(
    ("gateway_ns", "secret_ns", "read", "verdict", "says"),
    [
        pytest.param("istio-system", "istio-system", {"istio-system"}, Verdict.PASS,
                     "shop-cert", id="read-and-present"),
        pytest.param("istio-system", None, {"istio-system"}, Verdict.FAIL,
                     "Secret shop-cert", id="read-and-absent"),
        pytest.param("istio-ingress", None, {"istio-system"}, Verdict.UNKNOWN,
                     "Secret shop-cert of Gateway shop/shop-gateway in istio-ingress was not "
                     "looked for", id="not-read-there"),
        pytest.param("istio-ingress", None, {"istio-system", "istio-ingress"}, Verdict.FAIL,
                     "Secret shop-cert", id="read-there-and-absent"),
        pytest.param("istio-ingress", "istio-ingress", None, Verdict.PASS,
                     "shop-cert", id="all-namespaces-read"),
    ],
)  # fmt: skip
def test_a_credential_outside_the_secret_namespaces_is_unknown(
    gateway_ns: str, secret_ns: str | None, read: set[str] | None, verdict: Verdict, says: str
) -> None:
    # cert-manager writes the Secret: the Certificate says which hosts it covers
    issued = [b.secret("shop-cert", secret_ns), certificate(secret_ns)] if secret_ns else []
    objs = ingress(gateway_ns) + issued
    snapshot = dataclasses.replace(
        kubelet.snapshot_of(*objs),
        secret_namespaces=frozenset(read) if read is not None else None,
    )

    result = CHECKS["certificates-ready"](snapshot, SHOP)

    assert result.verdict is verdict
    assert says in result.reason
    if verdict is Verdict.UNKNOWN:
        assert "MESHGATE_SECRET_NAMESPACES" in result.reason
