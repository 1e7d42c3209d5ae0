"""Service references (`NS/NAME`) validated the way Kubernetes validates names.

A namespace is an RFC 1123 label and a Service name an RFC 1035 label (both at most 63
characters; source: k8s.io/apimachinery/pkg/util/validation, IsDNS1123Label / IsDNS1035Label).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows.errors import WorkflowError

# RFC 1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# RFC 1035 label: as above, but must start with a letter (Service names).
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_MAX_LABEL = 63


class InvalidServiceRef(WorkflowError, ValueError):
    """The text is not `NS/NAME` with valid Kubernetes names; the message says what is wrong."""


@dataclass(frozen=True, order=True)
class ServiceRef:
    """A Kubernetes Service by namespace and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        """Parse `NS/NAME`; raise InvalidServiceRef saying which part is wrong and why."""
        namespace, sep, name = text.partition("/")
        if not sep or not namespace or not name or "/" in name:
            raise InvalidServiceRef(f"expected NS/NAME (e.g. shop/checkout), got {text!r}")
        _check_label(namespace, what="namespace", pattern=_DNS1123_LABEL)
        _check_label(name, what="service name", pattern=_DNS1035_LABEL)
        return cls(namespace=namespace, name=name)


def _check_label(value: str, *, what: str, pattern: re.Pattern[str]) -> None:
    if len(value) > _MAX_LABEL:
        raise InvalidServiceRef(f"{what} {value!r} is longer than {_MAX_LABEL} characters")
    if not pattern.match(value):
        rule = (
            "lower-case letters, digits and '-', starting with a letter"
            if pattern is _DNS1035_LABEL
            else "lower-case letters, digits and '-', starting and ending with one of them"
        )
        raise InvalidServiceRef(f"{what} {value!r} is not a valid Kubernetes name ({rule})")
