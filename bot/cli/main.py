"""The `meshgate` command line: demo, console, playbook validate (and the others as they land).

Start-up problems (bad settings, unreadable playbook, no Redis) print one clear message and
exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import io
import os
import sys
from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

from bot import logs, wiring
from bot import settings as settings_module
from bot.cli import audit as cli_audit
from bot.cli import cluster
from bot.cli import metrics as cli_metrics
from bot.cli import plan as cli_plan
from bot.cli import serve as cli_serve
from bot.cli import watch as cli_watch
from bot.console import session as console
from bot.errors import StartupError
from bot.kube.memory import MemoryCluster
from bot.kube.overlay import OverlayError, OverlayReader
from bot.metrics import demo as demo_metrics
from bot.settings import Settings
from bot.state.embedded import EmbeddedRedisError
from commands import baselines
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
The regression watch holds every demo service to its posture at start. Try:
  :apply weaken-mtls          apply a change that turns mTLS off in `shop` (in memory)
  :sweep                      one watch sweep: one alert for that one cause
  ack ALERT                   acknowledge it (the id is on the alert line)
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `meshgate` console script."""
    logs.configure_from(os.environ)
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
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {metadata.version('meshgate')}"
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    demo = sub.add_parser("demo", help="console on the bundled demo mesh; no setup")
    demo.add_argument("--as", dest="actor", default=DEMO_ACTOR, help="who you are")
    demo.add_argument("--format", choices=("text", "json"), default="text")
    demo.set_defaults(func=_demo)

    con = sub.add_parser("console", help="run chat commands from a terminal or a pipe")
    con.add_argument("--as", dest="actor", default=None, help="who you are (default: $USER)")
    cluster.add_arguments(con)
    con.add_argument("--format", choices=("text", "json"), default="text")
    con.set_defaults(func=_console)

    cli_audit.register(sub)
    cli_metrics.register(sub)
    cli_plan.register(sub)
    cli_serve.register(sub)
    cli_watch.register(sub)

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
    # an in-memory cluster that takes meshgate's changes, as a cluster would; `:apply FILE`
    # lays a person's manifests over it
    memory = MemoryCluster.from_manifests(mesh)
    cluster = OverlayReader(memory)
    # the demo's numbers: a local Prometheus over series made for the demo mesh, if it can run
    numbers = demo_metrics.start(work_dir=state_dir, now=wiring.utc_now())
    print(numbers.message, file=sys.stderr)
    try:
        with wiring.open_bot(
            settings,
            cluster=cluster,
            writer=memory,
            state_dir=state_dir,
            default_approvers=approvers,
            prometheus_url=numbers.url,
        ) as bot:
            if not bot.store.client.exists("meshgate:baselines"):
                baselines.record_current(bot.ctx, phase="demo")
            prompt = "meshgate> " if sys.stdin.isatty() and args.format == "text" else ""
            return console.run(
                sys.stdin,
                ctx=bot.ctx,
                actor=args.actor,
                out=sys.stdout,
                fmt=args.format,
                prompt=prompt,
                directives=demo_directives(bot, cluster, fmt=args.format),
                charts=state_dir / "charts",
            )
    finally:
        numbers.stop()


def demo_directives(
    bot: wiring.Bot, cluster: OverlayReader, *, fmt: console.Format
) -> dict[str, console.Directive]:
    """The demo console's `:apply FILE` (a packaged change by name, or a path) and `:sweep`."""
    changes = Path(str(resources.files("bot").joinpath("demo_changes")))

    def apply(args: list[str]) -> list[str]:
        if len(args) != 1:
            names = ", ".join(sorted(p.stem for p in changes.glob("*.yaml")))
            return [f"usage: :apply FILE (a manifest path, or one of: {names})"]
        path = Path(args[0])
        if not path.exists():
            path = changes / f"{args[0].removesuffix('.yaml')}.yaml"
        try:
            done = cluster.apply_file(path)
        except OverlayError as e:
            return [f"error: {e}"]
        return [f"applied {', '.join(done)} to the demo mesh (in memory); `:sweep` to check"]

    def sweep(args: list[str]) -> list[str]:
        out = io.StringIO()
        cli_watch.print_result(bot.watcher.sweep(), fmt=fmt, out=out, err=out)
        return out.getvalue().rstrip("\n").split("\n")

    return {"apply": apply, "sweep": sweep}


def _console(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    reader, writer = cluster.cluster_from(args, settings)
    actor = args.actor or getpass.getuser()
    return _run_console(
        settings,
        cluster=reader,
        writer=writer,
        namespace=args.namespace,
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
    prometheus_url: str | None = None,
    namespace: str | None = None,
) -> int:
    with wiring.open_bot(
        settings,
        cluster=cluster,
        writer=writer,
        state_dir=state_dir,
        default_approvers=approvers,
        prometheus_url=prometheus_url,
    ) as bot:
        prompt = "meshgate> " if sys.stdin.isatty() and fmt == "text" else ""
        lines = console.in_namespace(sys.stdin, namespace) if namespace else sys.stdin
        return console.run(
            lines,
            ctx=bot.ctx,
            actor=actor,
            out=sys.stdout,
            fmt=fmt,
            prompt=prompt,
            charts=state_dir / "charts",
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
