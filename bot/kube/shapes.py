"""Shape checks for objects read from manifests: what the mesh model needs to read them right.

A manifest folder is whatever a person or a CI job wrote, not what an API server validated.
An object whose metadata, labels or (for an AuthorizationPolicy) rules do not have the shape
Kubernetes and Istio require would otherwise crash a verdict, vanish, or be read as something
it is not (a policy whose rules are not a list reads as "no rules": deny-all, hiding an
allow-all). `problem(kind, obj)` names the first such fault, or returns "".
"""

from __future__ import annotations

from typing import Any

from workflows.mesh.snapshot import Kind

_AUTHZ_ACTIONS = frozenset({"ALLOW", "DENY", "AUDIT", "CUSTOM"})
_RULE_PARTS = ("from", "to", "when")


def problem(kind: Kind, obj: dict[str, Any]) -> str:
    """What is malformed in `obj` (a `kind`), or "" when its shape can be read."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return f"metadata is {_what(meta)}, not a mapping"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        return "metadata.name is missing or not a string"
    if "namespace" in meta and not isinstance(meta["namespace"], str):
        return "metadata.namespace is not a string"
    for field in ("labels", "annotations"):
        found = _string_map(meta.get(field))
        if found:
            return f"metadata.{field} {found}"
    spec = obj.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return f"spec is {_what(spec)}, not a mapping"
    if kind is Kind.AUTHORIZATION_POLICY and isinstance(spec, dict):
        return _authz_problem(spec)
    return ""


def _authz_problem(spec: dict[str, Any]) -> str:
    action = spec.get("action", "ALLOW")
    if action not in _AUTHZ_ACTIONS:
        return f"spec.action {action!r} is not one of ALLOW, DENY, AUDIT, CUSTOM"
    selector = spec.get("selector")
    if selector is not None:
        if not isinstance(selector, dict):
            return f"spec.selector is {_what(selector)}, not a mapping"
        found = _string_map(selector.get("matchLabels"))
        if found:
            return f"spec.selector.matchLabels {found}"
    rules = spec.get("rules")
    if rules is None:
        return ""
    if not isinstance(rules, list):
        return f"spec.rules is {_what(rules)}, not a list"
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            return f"spec.rules[{i}] is {_what(rule)}, not a mapping"
        for part in _RULE_PARTS:
            entries = rule.get(part)
            if entries is None:
                continue
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                return f"spec.rules[{i}].{part} is not a list of mappings"
    return ""


def _string_map(value: object) -> str:
    """ "" for an absent map or one of strings to strings; else what is wrong with it."""
    if value is None:
        return ""
    if not isinstance(value, dict):
        return f"is {_what(value)}, not a mapping of strings"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return "has a key or value that is not a string (quote numbers and booleans)"
    return ""


def _what(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, set):
        return "a set (!!set)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
