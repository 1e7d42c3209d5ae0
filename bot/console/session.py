"""The terminal front end: one command per line from a terminal or a pipe.

Lines are chat text (`status shop/checkout`, with or without the slash command). `:as NAME`
switches the actor, `:quit` ends, blank lines and `#` comments are skipped. `--format json`
prints one reply per line (DESIGN.md, "Reply JSON"); text goes through bot.console_render.
`meshgate console -n NS` reads a name without a namespace (`status checkout`) as `NS/checkout`,
as kubectl does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal, TextIO

from bot import observability
from bot.console import render as console_render
from commands import dispatch
from commands.context import Context
from commands.errors import UsageError
from commands.replies import Reply

Format = Literal["text", "json"]
Directive = Callable[[list[str]], list[str]]
"""An extra `:name ARGS` of a front end (the demo's `:apply FILE`, `:sweep`): lines to print."""
_ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Verbs whose first argument is a service, NS/NAME (commands/parsing.py's usage table).
_SERVICE_VERBS = frozenset(
    {"start", "status", "advance", "approve", "reject", "attest", "rollback", "abort",
     "history", "metrics", "audit", "plan"}
)  # fmt: skip


def in_namespace(lines: Iterable[str], namespace: str) -> Iterator[str]:
    """Each line, with `NAME` read as `namespace/NAME` where a verb takes a service."""
    for line in lines:
        words = line.split(maxsplit=3)
        at = 1 if words and words[0].startswith("/") else 0  # `/rollout status NAME`
        if len(words) > at + 1 and words[at] in _SERVICE_VERBS and "/" not in words[at + 1]:
            words[at + 1] = f"{namespace}/{words[at + 1]}"
            yield " ".join(words) + "\n"
        else:
            yield line


def run(
    lines: Iterable[str],
    *,
    ctx: Context,
    actor: str,
    out: TextIO,
    fmt: Format,
    prompt: str = "",
    charts: Path | None = None,
    directives: Mapping[str, Directive] | None = None,
) -> int:
    """Run every line; return 0, or 1 when the last command failed (for scripts).

    A `metrics` reply's chart is written as a PNG into `charts` and its path printed.
    `directives` adds `:name ARGS` lines of the front end's own; each prints what it returns.
    """
    status = 0
    if prompt:
        out.write(prompt)
        out.flush()
    for raw in lines:
        line = raw.strip()
        if line in (":quit", ":q", ":exit"):
            break
        if line and not line.startswith("#"):
            name = line.split()[0]
            if directives and name.startswith(":") and name[1:] in directives:
                for said in directives[name[1:]](line.split()[1:]):
                    out.write(said + "\n")
                reply = Reply(command=":as", ok=True)  # printed above; nothing more to show
                actor_line = False
            elif line.startswith(":"):
                actor, reply = _directive(line, actor)
                actor_line = True
            else:
                reply = dispatch.execute(line, actor=actor, ctx=ctx)
                observability.replied(reply)
                actor_line = False
            status = 0 if reply.ok else 1
            chart = console_render.write_chart(reply, folder=charts) if charts else None
            if fmt == "json" and reply.command != ":as":
                out.write(console_render.as_json(reply, chart=chart) + "\n")
            elif fmt == "text" and reply.command == ":as" and actor_line:
                out.write(f"now acting as {actor}\n")
            elif fmt == "text" and reply.command != ":as":
                out.write(console_render.render(reply) + "\n")
                if chart is not None:
                    out.write(f"chart: {chart}\n")
        if prompt:
            out.write(prompt)
        out.flush()
    return status


def _directive(line: str, actor: str) -> tuple[str, Reply]:
    """Handle `:as NAME`; return the actor from now on and the reply to show."""
    words = line.split()
    if words[0] == ":as" and len(words) == 2 and _ACTOR.match(words[1]):
        return words[1], Reply(command=":as", ok=True)
    error = UsageError(f"unknown console directive {line[:40]!r}", usage=":as NAME | :quit")
    return actor, dispatch.error_reply("console", error)
