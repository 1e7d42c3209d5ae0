"""Custom PromQL in playbooks: `{namespace}`, `{service}` and `{window}` placeholders.

Like Flagger's metric templates and Argo Rollouts' analysis templates, a playbook item may carry
its own query. A placeholder is a bare `{name}`; PromQL's own braces always hold a matcher with
an operator (`{app="x"}`), so the two never look alike. `problems` finds unknown placeholders
(and unbalanced brackets) when the playbook is validated; `render` fills them in, and refuses
an unknown one rather than leaving it in the query (Flagger's templates fail on a missing key
the same way). Pure: no PromQL parser, no Prometheus.
"""

from __future__ import annotations

import re

PLACEHOLDERS = ("namespace", "service", "window")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_PAIRS = {")": "(", "]": "[", "}": "{"}


class TemplateError(ValueError):
    """A custom query uses a placeholder meshgate does not fill in."""


def problems(template: str) -> list[str]:
    """What is wrong with a custom query template, one sentence each (empty: nothing)."""
    found = []
    known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
    for name in dict.fromkeys(_PLACEHOLDER.findall(template)):
        if name not in PLACEHOLDERS:
            found.append(f"unknown placeholder {{{name}}}; the known ones are {known}")
    if not template.strip():
        found.append("the query is empty")
    unbalanced = _unbalanced(_PLACEHOLDER.sub("x", _STRING.sub('""', template)))
    if unbalanced:
        found.append(f"unbalanced {unbalanced} in the query")
    return found


def render(template: str, *, namespace: str, service: str, window: str) -> str:
    """The query with its placeholders filled in; TemplateError for an unknown one."""
    values = {"namespace": namespace, "service": service, "window": window}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"unknown placeholder {{{name}}} in a custom query")
        return values[name]

    return _PLACEHOLDER.sub(fill, template)


def _unbalanced(text: str) -> str:
    stack: list[str] = []
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                return f"'{char}'"
    return f"'{stack[-1]}'" if stack else ""
