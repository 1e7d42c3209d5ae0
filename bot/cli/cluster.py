"""The cluster a command works on, from its flags and settings: one place for every command.

    --manifests DIR / --demo      a folder of manifests (read-only)
    --kubeconfig FILE, --context  a live cluster, credentials chosen as kubectl chooses them
                                  (bot.kube.credentials): else KUBECONFIG, ~/.kube/config, or
                                  the pod's service account
    -n/--namespace NS             the namespace a command means when a name has none

MESHGATE_KUBE_CONTEXT stands for `--context`; MESHGATE_SECRET_NAMESPACES and
MESHGATE_READ_ONLY (deploy/overlays/read-only) shape the reader and whether there is a writer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import StartupError
from bot.kube import credentials
from bot.kube.cached import CachedClusterReader
from bot.kube.credentials import KubeTarget
from bot.kube.errors import KubeError
from bot.kube.manifests import ManifestReader
from bot.kube.memory import MemoryCluster
from bot.settings import Settings
from workflows.ports import ClusterReader, ClusterWriter


def add_arguments(parser: Any, *, demo: bool = False, namespace: bool = True) -> None:
    """Add the source flags (and `-n`) to a subcommand's parser."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--manifests", type=Path, metavar="DIR", help="a folder of manifests as the cluster"
    )
    if demo:
        source.add_argument("--demo", action="store_true", help="the bundled demo mesh")
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
    )
    parser.add_argument("--context", metavar="CTX", help="a kubeconfig context of a live cluster")
    if namespace:
        parser.add_argument(
            "-n", "--namespace", metavar="NS", help="the namespace of names given without one"
        )


def target(
    args: argparse.Namespace,
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> KubeTarget | None:
    """The live cluster's credentials the flags and settings ask for (None: no cluster)."""
    context = getattr(args, "context", None) or settings.kube_context
    try:
        return credentials.choose(
            kubeconfig=getattr(args, "kubeconfig", None),
            context=context,
            environ=os.environ if environ is None else environ,
            home=home,
        )
    except KubeError as e:
        raise StartupError(str(e)) from e


def _check_flags(args: argparse.Namespace) -> None:
    offline = getattr(args, "demo", False) or getattr(args, "manifests", None) is not None
    live = getattr(args, "kubeconfig", None) or getattr(args, "context", None)
    if offline and live:
        raise StartupError(
            "--manifests/--demo read no cluster: drop --kubeconfig and --context, or them"
        )


def cluster_from(
    args: argparse.Namespace, settings: Settings
) -> tuple[ClusterReader | None, ClusterWriter | None]:
    """The cluster reader (and, for a live cluster, writer) the flags and settings ask for.

    Manifests are read-only, and so is a live cluster with MESHGATE_READ_ONLY (GitOps):
    requests carry the change as YAML to commit, and phases wait for it to appear. The demo
    mesh is in memory and takes meshgate's changes.
    """
    _check_flags(args)
    if getattr(args, "demo", False):
        demo = Path(str(resources.files("bot").joinpath("demo_mesh")))
        memory = MemoryCluster.from_manifests(demo)
        return memory, memory
    if getattr(args, "manifests", None) is not None:
        return CachedClusterReader(ManifestReader(args.manifests)), None
    chosen = target(args, settings)
    if chosen is None:
        return None, None
    return live_cluster(chosen, settings)


def live_cluster(
    chosen: KubeTarget, settings: Settings
) -> tuple[ClusterReader, ClusterWriter | None]:
    """A cached reader and (unless read-only) a writer on the same credentials."""
    from bot.kube.changes import KubeChanges
    from bot.kube.live import LiveClusterReader
    from bot.kube.writer import KubeWriter

    try:
        reader = CachedClusterReader(
            LiveClusterReader.for_target(chosen, secret_namespaces=settings.secret_namespaces)
        )
        if settings.read_only:
            return reader, None
        writer = KubeChanges(KubeWriter.for_target(chosen), on_change=reader.invalidate)
    except KubeError as e:
        raise StartupError(f"cannot use the {chosen.describe()}: {e}") from e
    return reader, writer
