"""`meshgate plan NS/NAME [--manifests DIR | --context CTX]`: the change as YAML to commit.

For teams that apply changes through Git: prints the objects the rollout's current phase would
apply (the first phase with a change when no rollout exists) as YAML on stdout, nothing else,
so it can go straight into a file; what went wrong goes to stderr. The rollout then waits in
`verifying` until the committed change is in the cluster and its verify items pass.
Exit status: 0 printed (or nothing to change), 1 refused (conflict), 2 usage or read errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import settings as settings_module
from bot import wiring
from bot.cli import serve as cli_serve
from commands import dispatch
from commands.parsing import Plan
from workflows.naming import InvalidServiceRef, ServiceRef


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `plan` subcommand to the `meshgate` parser."""
    parser = subparsers.add_parser(
        "plan", help="the current phase's change as YAML to commit (GitOps)"
    )
    parser.add_argument("service", metavar="NS/NAME")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, metavar="DIR", help="a folder of manifests")
    source.add_argument("--context", metavar="CTX", help="a kubeconfig context of a live cluster")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan; return the exit status."""
    try:
        service = ServiceRef.parse(args.service)
    except InvalidServiceRef as e:
        print(f"meshgate plan: {e}", file=sys.stderr)
        return 2
    settings = settings_module.load()
    cluster, _ = cli_serve.cluster_from(args, settings)  # plan never writes
    with wiring.open_bot(
        settings, cluster=cluster, state_dir=settings.state_dir.expanduser()
    ) as bot:
        reply = dispatch.run(Plan(service=service), actor="meshgate", ctx=bot.ctx)
    if reply.error is not None:
        print(f"meshgate plan: [{reply.error.code.value}] {reply.error.message}", file=sys.stderr)
        return 1 if reply.error.code.value == "conflict" else 2
    assert reply.plan is not None  # noqa: S101 - a plan reply carries its plan
    if not reply.plan.manifest:
        print(f"phase {reply.plan.phase} changes nothing in the cluster", file=sys.stderr)
        return 0
    sys.stdout.write(reply.plan.manifest)
    return 0
