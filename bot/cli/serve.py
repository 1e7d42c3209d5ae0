"""`meshgate serve`: the Slack app over HTTP (waitress) or Socket Mode, on the same commands.

Settings are checked once at start-up; every missing or malformed one is named in a single
error, with no traceback and no token in the text.
"""

from __future__ import annotations

import argparse
import logging
from importlib import resources
from pathlib import Path
from typing import Any

from bot import settings as settings_module
from bot import wiring
from bot.errors import StartupError
from bot.kube.cached import CachedClusterReader
from bot.kube.manifests import ManifestReader
from bot.kube.memory import MemoryCluster
from bot.settings import Settings
from bot.slack.config import check_slack_settings
from bot.slack.wsgi import MeshgateWsgi
from workflows.ports import ClusterReader, ClusterWriter

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add `serve` to the CLI."""
    serve = sub.add_parser("serve", help="the Slack app (HTTP, or Socket Mode with an app token)")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server in a pod listens on all
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--manifests", type=Path, help="a folder of manifests as the cluster")
    source.add_argument("--demo", action="store_true", help="the bundled demo mesh")
    source.add_argument("--context", help="a kubeconfig context of a live cluster")
    serve.set_defaults(func=run)


def cluster_from(
    args: argparse.Namespace, settings: Settings
) -> tuple[ClusterReader | None, ClusterWriter | None]:
    """The cluster reader (and, for a live cluster, writer) the flags and settings ask for.

    Manifests are read-only, and so is a live cluster with MESHGATE_READ_ONLY=true (GitOps):
    requests carry the change as YAML to commit, and phases wait for it to appear. The demo
    mesh is in memory and takes meshgate's changes.
    """
    if getattr(args, "demo", False):
        demo = Path(str(resources.files("bot").joinpath("demo_mesh")))
        memory = MemoryCluster.from_manifests(demo)
        return memory, memory
    if args.manifests is not None:
        return CachedClusterReader(ManifestReader(args.manifests)), None
    context = args.context or settings.kube_context
    if not context:
        return None, None
    from bot.kube.changes import KubeChanges
    from bot.kube.errors import KubeError
    from bot.kube.live import LiveClusterReader
    from bot.kube.writer import KubeWriter

    try:
        reader = CachedClusterReader(LiveClusterReader.from_kubeconfig(context=context))
        if settings.read_only:  # GitOps: the team commits the changes; meshgate watches
            return reader, None
        writer = KubeChanges(
            KubeWriter.from_kubeconfig(context=context), on_change=reader.invalidate
        )
    except KubeError as e:
        raise StartupError(f"cannot use kube context {context!r}: {e}") from e
    return reader, writer


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = settings_module.load()
    slack = check_slack_settings(settings)
    cluster, writer = cluster_from(args, settings)
    with wiring.open_bot(
        settings,
        cluster=cluster,
        writer=writer,
        state_dir=settings.state_dir.expanduser(),
        slack=slack,
        schedule=True,
    ) as bot:
        assert bot.slack is not None  # noqa: S101 - open_bot builds it when given Slack settings
        if slack.app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.warning("meshgate: Socket Mode")
            handler = SocketModeHandler(bot.slack.app, slack.app_token, web_client=bot.slack.client)
            handler.start()  # type: ignore[no-untyped-call]
        else:
            import waitress

            log.warning("meshgate: serving /slack/events on %s:%d", args.host, args.port)
            waitress.serve(MeshgateWsgi(bot.slack.app), host=args.host, port=args.port, threads=8)
    return 0
