"""Wiring a Context from settings: the store (Redis URL or embedded), playbook, approvers.

Used by every front end (console, demo, Slack) so they run on the same parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import StartupError
from bot.settings import Settings
from bot.state.embedded import EmbeddedRedis
from bot.state.store import RedisStore
from commands.context import Context
from workflows import playbook as playbooks
from workflows.playbook import Playbook
from workflows.ports import ClusterReader, ClusterWriter, Directory
from workflows.rollout.machine import Approvers


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(tz=UTC)


def load_playbook(path: Path | None) -> Playbook:
    """The playbook at `path`, or the packaged default; raise StartupError listing problems."""
    if path is None:
        return playbooks.default()
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise StartupError(f"cannot read the playbook {path}: {e.strerror}") from e
    try:
        return playbooks.parse(text, source=str(path))
    except playbooks.PlaybookInvalid as e:
        raise StartupError(str(e)) from e


@contextmanager
def open_context(
    settings: Settings,
    *,
    cluster: ClusterReader | None,
    state_dir: Path,
    writer: ClusterWriter | None = None,
    directory: Directory | None = None,
    default_approvers: tuple[str, ...] | None = None,
) -> Iterator[Context]:
    """A Context on the configured Redis (or an embedded one in `state_dir`), closed on exit."""
    playbook = load_playbook(settings.playbook)
    with ExitStack() as stack:
        url = settings.redis_url
        if url is None:
            embedded = EmbeddedRedis(state_dir)
            url = embedded.start()
            stack.callback(embedded.stop)
        store = RedisStore.from_url(url)
        stack.callback(store.close)
        approvers = default_approvers if default_approvers is not None else settings.approvers
        yield Context(
            store=store,
            playbook=playbook,
            clock=utc_now,
            cluster=cluster,
            directory=directory,
            default_approvers=Approvers.parse(approvers),
            writer=writer,
            read_only_cluster=writer is None,
        )
