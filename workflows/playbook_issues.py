"""Where a playbook is wrong: issues located by line and field in the YAML a person wrote.

`line_index` maps each data path of the document to its line; `issue_from_error` turns a
pydantic error into an issue on that line; `unknown_checks` finds `check:` ids meshgate does not
implement (with the closest known id as a hint). `workflows.playbook.parse` reports them all.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict


class PlaybookIssue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    """One problem in a playbook file, located by line and field path."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


def unknown_checks(
    data: dict[str, Any], *, known: set[str], lines: dict[tuple[str | int, ...], int]
) -> list[PlaybookIssue]:
    """An issue for each `check:` that names no implemented check (read from the raw YAML)."""
    issues = []
    phases = data.get("phases")
    for p, phase in enumerate(phases if isinstance(phases, list) else []):
        for section in ("gate", "verify"):
            items = phase.get(section) if isinstance(phase, dict) else None
            for i, item in enumerate(items if isinstance(items, list) else []):
                check = item.get("check") if isinstance(item, dict) else None
                if not isinstance(check, str) or check in known:
                    continue
                path: tuple[str | int, ...] = ("phases", p, section, i, "check")
                close = difflib.get_close_matches(check, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                issues.append(
                    PlaybookIssue(
                        line=lines.get(path, 0),
                        field=".".join(map(str, path)),
                        message=f"unknown check {check!r}{hint} "
                        f"(known: {', '.join(sorted(known))})",
                    )
                )
    return issues


def issue_from_error(err: Any, lines: dict[tuple[str | int, ...], int]) -> PlaybookIssue:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    # pydantic adds the model or union branch name to some locs; keep the data path only
    path = tuple(p for p in loc if isinstance(p, int) or not p[:1].isupper())
    path = tuple("schema" if p == "schema_" else p for p in path)
    line = 0
    for depth in range(len(path), -1, -1):
        if path[:depth] in lines:
            line = lines[path[:depth]]
            break
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (check its spelling)"
    return PlaybookIssue(line=line, field=".".join(str(p) for p in path), message=message)


def line_index(node: yaml.Node | None) -> dict[tuple[str | int, ...], int]:
    """Map each data path in the YAML document to its 1-based line number."""
    index: dict[tuple[str | int, ...], int] = {}

    def walk(current: yaml.Node, path: tuple[str | int, ...]) -> None:
        index.setdefault(path, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = str(key_node.value)
                index[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
                index[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(current, yaml.SequenceNode):
            for position, item in enumerate(current.value):
                walk(item, (*path, position))

    if node is not None:
        walk(node, ())
    return index
