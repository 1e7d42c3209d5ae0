"""The `meshgate` command line: demo, console, playbook validate (and the others as they land).

Start-up problems (bad settings, unreadable playbook, no Redis) print one clear message and
exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from bot import settings as settings_module
from bot import wiring
from bot.cli import audit as cli_audit
from bot.cli import plan as cli_plan
from bot.cli import serve as cli_serve
from bot.console import session as console
from bot.errors import StartupError
from bot.kube.memory import MemoryCluster
from bot.settings import Settings
from bot.state.embedded import EmbeddedRedisError
from workflows import playbook as playbooks
from workflows.ports import ClusterReader, ClusterWriter

DEMO_ACTOR = "alice"
# The demo's approvers: the tour has alice request and bob approve.
DEMO_APPROVERS = ("bob", "carol")

TOUR = """\
meshgate demo: a bundled mesh (Istio's Bookinfo in namespace `shop`), state kept in {state}.
You are {actor}; approvers are {approvers}. Try, one per line:
  list                        every rollout
  start shop/productpage      begin at phase `assess`
  status shop/productpage     the checklist, checked against the demo mesh
  advance shop/productpage    pass the gate, then ask for approval
  :as bob                     act as someone else (an approver)
  approve shop/productpage    approve (the requester cannot approve their own)
  history shop/productpage    who did what, when
  help                        every command
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `meshgate` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (StartupError, EmbeddedRedisError) as e:
        print(f"meshgate: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshgate", description="Walk Kubernetes services through an Istio mesh rollout."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    demo = sub.add_parser("demo", help="console on the bundled demo mesh; no setup")
    demo.add_argument("--as", dest="actor", default=DEMO_ACTOR, help="who you are")
    demo.add_argument("--format", choices=("text", "json"), default="text")
    demo.set_defaults(func=_demo)

    con = sub.add_parser("console", help="run chat commands from a terminal or a pipe")
    con.add_argument("--as", dest="actor", default=None, help="who you are (default: $USER)")
    source = con.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, help="a folder of manifests as the cluster")
    source.add_argument("--context", help="a kubeconfig context of a live cluster")
    con.add_argument("--format", choices=("text", "json"), default="text")
    con.set_defaults(func=_console)

    cli_audit.register(sub)
    cli_plan.register(sub)
    cli_serve.register(sub)

    book = sub.add_parser("playbook", help="work with playbooks")
    book_sub = book.add_subparsers(metavar="ACTION")
    validate = book_sub.add_parser("validate", help="check a playbook file, every error by line")
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=_validate)
    return parser


def _demo(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    state_dir = settings.state_dir.expanduser() / "demo"
    mesh = Path(str(resources.files("bot").joinpath("demo_mesh")))
    approvers = settings.approvers or DEMO_APPROVERS
    print(
        TOUR.format(state=state_dir, actor=args.actor, approvers=", ".join(approvers)),
        file=sys.stderr,
    )
    memory = MemoryCluster.from_manifests(mesh)  # takes meshgate's changes, as a cluster would
    return _run_console(
        settings,
        cluster=memory,
        writer=memory,
        state_dir=state_dir,
        actor=args.actor,
        fmt=args.format,
        approvers=approvers,
    )


def _console(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    cluster, writer = cli_serve.cluster_from(args, settings)
    actor = args.actor or getpass.getuser()
    return _run_console(
        settings,
        cluster=cluster,
        writer=writer,
        state_dir=settings.state_dir.expanduser(),
        actor=actor,
        fmt=args.format,
        approvers=None,
    )


def _run_console(
    settings: Settings,
    *,
    cluster: ClusterReader | None,
    state_dir: Path,
    actor: str,
    writer: ClusterWriter | None = None,
    fmt: console.Format,
    approvers: tuple[str, ...] | None,
) -> int:
    with wiring.open_bot(
        settings, cluster=cluster, writer=writer, state_dir=state_dir, default_approvers=approvers
    ) as bot:
        prompt = "meshgate> " if sys.stdin.isatty() and fmt == "text" else ""
        return console.run(
            sys.stdin, ctx=bot.ctx, actor=actor, out=sys.stdout, fmt=fmt, prompt=prompt
        )


def _validate(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"meshgate: cannot read {path}: {e}", file=sys.stderr)
        return 2
    try:
        book = playbooks.parse(text, source=str(path))
    except playbooks.PlaybookInvalid as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"{path}: ok, playbook {book.name!r} with {len(book.phases)} phase(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
