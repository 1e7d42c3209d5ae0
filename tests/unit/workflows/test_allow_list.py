"""The RBAC allow-list from callers observed by principal, and the policy built from it.

Istio reports callers as SPIFFE URIs (`source_principal="spiffe://cluster.local/ns/shop/sa/web"`),
while AuthorizationPolicy `principals` are `<trust domain>/ns/<ns>/sa/<sa>` (istio.io,
reference/config/security/authorization-policy, Source.principals); plaintext callers have no
identity (`unknown`) and cannot be admitted by principal.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.unit.workflows.test_actions import CHANGES, CHECKOUT, NOW, _snapshot, schemas  # noqa: F401
from workflows.changes import actions, allow_list
from workflows.gates.metrics_snapshot import PrincipalCaller

SEEN = (
    PrincipalCaller(principal="spiffe://cluster.local/ns/shop/sa/web", rate=10.0),
    PrincipalCaller(principal="spiffe://cluster.local/ns/shop/sa/api", rate=0.2),
    PrincipalCaller(principal="spiffe://cluster.local/ns/shop/sa/web", rate=1.0),
    PrincipalCaller(principal="unknown", rate=2.5),
    PrincipalCaller(principal="spiffe://cluster.local/ns/ops/sa/probe", rate=0.0),
)


def test_principals_seen_become_the_allow_list_and_plaintext_is_named() -> None:
    decided = allow_list.from_callers(SEEN)
    assert decided.principals == ("cluster.local/ns/shop/sa/api", "cluster.local/ns/shop/sa/web")
    assert [(c.principal, c.why) for c in decided.left_out] == [
        ("spiffe://cluster.local/ns/ops/sa/probe", "no requests over the window"),
        ("unknown", "no mTLS identity (plaintext): it will be denied once the policy is enforced"),
    ]


def test_no_callers_means_no_principals() -> None:
    assert allow_list.from_callers(()).principals == ()


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_the_dry_run_policy_from_observed_callers_validates_and_admits_exactly_them(
    version: str,
    schemas: dict[tuple[str, str, str], dict[str, Any]],  # noqa: F811
) -> None:
    decided = allow_list.from_callers(SEEN)
    (planned,) = actions.objects_for(
        CHANGES["rbac-dry-run"],
        service=CHECKOUT,
        snapshot=_snapshot(),
        callers=decided.principals,
        now=NOW,
    )
    body = {**planned.body, "apiVersion": f"security.istio.io/{version}"}
    jsonschema.validate(body, schemas[("security.istio.io", version, "AuthorizationPolicy")])
    assert body["metadata"]["annotations"]["istio.io/dry-run"] == "true"
    assert body["spec"]["rules"] == [
        {"from": [{"source": {"principals": list(decided.principals)}}]}
    ]


def test_the_policy_builder_takes_spiffe_uris_as_istio_principals() -> None:
    (planned,) = actions.objects_for(
        CHANGES["rbac-dry-run"],
        service=CHECKOUT,
        snapshot=_snapshot(),
        callers=["spiffe://cluster.local/ns/shop/sa/web"],
        now=NOW,
    )
    assert planned.body["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/shop/sa/web"
    ]


def test_the_policy_builder_refuses_the_unknown_principal() -> None:
    with pytest.raises(actions.ActionError, match="no mTLS identity"):
        actions.objects_for(
            CHANGES["rbac"], service=CHECKOUT, snapshot=_snapshot(), callers=["unknown"], now=NOW
        )
