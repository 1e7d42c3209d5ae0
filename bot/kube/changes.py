"""The ClusterWriter port on the Kubernetes API: KubeWriter with errors the user can read.

Wraps bot.kube_writer (dry run + diff, apply with field manager `meshgate`, rollback) and turns
its KubeError family into workflows.ports.ChangeFailed, naming the object and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot import observability
from bot.kube.errors import KubeError, KubeUnanswered
from bot.kube.writer import Applied, KubeWriter
from bot.observability import ChangeResult, Dependency
from workflows.changes.actions import PlannedObject
from workflows.ports import ChangeFailed, ChangeRecord, ChangeUnconfirmed


class KubeChanges:
    """A ClusterWriter over one KubeWriter; `on_change` runs after every write (cache reset)."""

    def __init__(self, writer: KubeWriter, *, on_change: Callable[[], None] | None = None) -> None:
        self._writer = writer
        self._on_change = on_change or (lambda: None)

    def preview(self, planned: Sequence[PlannedObject]) -> str:
        """The unified diff of every object that would change ("" when none would)."""
        try:
            previews = self._writer.preview(planned)
        except KubeError as e:
            observability.dependency_error(Dependency.KUBERNETES, e)
            raise ChangeFailed(f"the server-side dry run refused the change: {e}") from e
        return "\n".join(p.diff for p in previews if p.changes)

    def current(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """What each object is now, for a rollback of a change cut off mid-way."""
        try:
            return [applied.as_record() for applied in self._writer.current(planned)]
        except KubeError as e:
            observability.dependency_error(Dependency.KUBERNETES, e)
            raise ChangeFailed(f"reading the objects before the change failed: {e}") from e

    def apply(self, planned: Sequence[PlannedObject]) -> list[ChangeRecord]:
        """Apply all objects, or none (KubeWriter undoes a partial apply), or unconfirmed."""
        try:
            records = [applied.as_record() for applied in self._writer.apply(planned)]
        except KubeUnanswered as e:
            observability.change(ChangeResult.FAILED)
            observability.dependency_error(Dependency.KUBERNETES, e)
            raise ChangeUnconfirmed(f"the change was not confirmed: {e}") from e
        except KubeError as e:
            observability.change(ChangeResult.FAILED)
            observability.dependency_error(Dependency.KUBERNETES, e)
            raise ChangeFailed(f"applying the change failed: {e}") from e
        finally:
            self._on_change()
        observability.change(ChangeResult.APPLIED, len(records))
        return records

    def rollback(self, records: Sequence[ChangeRecord]) -> list[str]:
        """Restore the objects the records replaced."""
        try:
            lines = self._writer.rollback([Applied.from_record(r) for r in records])
        except KubeError as e:
            observability.change(ChangeResult.FAILED)
            observability.dependency_error(Dependency.KUBERNETES, e)
            raise ChangeFailed(f"reverting the change failed: {e}") from e
        finally:
            self._on_change()
        observability.change(ChangeResult.ROLLED_BACK, len(records))
        return lines
