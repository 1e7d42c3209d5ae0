"""Reading fields of raw Kubernetes objects safely, and naming them the way findings do.

Raw API JSON (workflows.mesh.RawObject) may lack any field; these accessors return empty
values instead of raising, so posture code reads as the rule it implements. `ref` gives the
`Kind ns/name` form every finding, regression cause and report uses for an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from workflows.mesh.snapshot import RawObject

DRY_RUN_ANNOTATION = "istio.io/dry-run"
"""Marks an AuthorizationPolicy as dry-run (istio/api security/v1beta1, authorization_policy)."""

# A missing creationTimestamp sorts as the oldest, like Go's zero time.Time does in Istio.
_ZERO_TIME = datetime.min.replace(tzinfo=UTC)


def metadata(obj: RawObject) -> Mapping[str, Any]:
    """The object's metadata (empty when absent)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def spec(obj: RawObject) -> Mapping[str, Any]:
    """The object's spec (empty when absent or null, as `spec: {}` reads in YAML)."""
    value = obj.get("spec")
    return value if isinstance(value, Mapping) else {}


def name(obj: RawObject) -> str:
    """metadata.name."""
    return str(metadata(obj).get("name", ""))


def namespace(obj: RawObject) -> str:
    """metadata.namespace ("" for cluster-scoped objects)."""
    return str(metadata(obj).get("namespace", ""))


def labels(obj: RawObject) -> dict[str, str]:
    """metadata.labels as strings."""
    return _string_map(metadata(obj).get("labels"))


def annotation_map(obj: RawObject) -> dict[str, str]:
    """metadata.annotations as strings."""
    return _string_map(metadata(obj).get("annotations"))


def ref(obj: RawObject) -> str:
    """`Kind ns/name` (or `Kind name` for cluster-scoped objects), as findings name objects."""
    kind = str(obj.get("kind", "Object"))
    ns = namespace(obj)
    return f"{kind} {ns}/{name(obj)}" if ns else f"{kind} {name(obj)}"


def created(obj: RawObject) -> datetime:
    """metadata.creationTimestamp as an aware datetime; missing or unparseable = oldest."""
    value = metadata(obj).get("creationTimestamp")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _ZERO_TIME
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return _ZERO_TIME


def age_order(obj: RawObject) -> tuple[datetime, str, str]:
    """Istio's precedence key among policies of one scope: oldest, then name, then namespace."""
    return (created(obj), name(obj), namespace(obj))


def selector_labels(obj: RawObject) -> dict[str, str] | None:
    """spec.selector.matchLabels of an Istio policy; None when the policy has no selector.

    An empty `matchLabels` counts as no selector, as Istio treats it.
    """
    selector = spec(obj).get("selector")
    if not isinstance(selector, Mapping):
        return None
    match = _string_map(selector.get("matchLabels"))
    return match or None


def selects(selector: Mapping[str, str], pod_labels: Mapping[str, str]) -> bool:
    """True when every selector label is on the pod (a label selector's matchLabels)."""
    return all(pod_labels.get(key) == value for key, value in selector.items())


# Go's strconv.ParseBool, which Istio's authz builder uses on the dry-run annotation (isDryRun,
# pilot/pkg/security/authz/builder/builder.go); anything else fails to parse and reads false.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def is_dry_run(obj: RawObject) -> bool:
    """True when `istio.io/dry-run` parses as true the way Go's strconv.ParseBool does.

    `"1"`, `"t"` and `"True"` are true; `"yes"`, `" true"` or `"TrUe"` do not parse, and Istio
    then enforces the policy.
    """
    return annotation_map(obj).get(DRY_RUN_ANNOTATION) in _GO_TRUE


def condition_true(obj: RawObject, condition: str) -> bool:
    """True when status.conditions has `condition` with status "True"."""
    status = obj.get("status")
    if not isinstance(status, Mapping):
        return False
    for item in status.get("conditions") or ():
        if isinstance(item, Mapping) and item.get("type") == condition:
            return str(item.get("status")) == "True"
    return False


def as_list(value: Any) -> list[Any]:
    """A YAML list field, or [] when absent or of another type."""
    return list(value) if isinstance(value, list | tuple) else []


def as_map(value: Any) -> Mapping[str, Any]:
    """A YAML mapping field, or {} when absent or of another type."""
    return value if isinstance(value, Mapping) else {}


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}
