"""`audit [NS/NAME]`: the mesh posture of one service or all, from one read of the cluster."""

from __future__ import annotations

from commands import checking
from commands.context import Context
from commands.errors import CommandError
from commands.parsing import Audit
from commands.replies import Reply
from workflows.audit import auditing as mesh_audit
from workflows.errors import ErrorCode


def handle(command: Audit, *, actor: str, ctx: Context) -> Reply:
    """Audit the service (or every service); read errors show as `unknown`, never as clean."""
    snapshot, why = checking.read_cluster(ctx)
    if snapshot is None:
        raise CommandError(ErrorCode.UNAVAILABLE, f"cannot audit: {why}")
    services = [command.service] if command.service is not None else None
    if command.service is not None and snapshot.service(command.service) is None:
        if not snapshot.errors:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"no Service {command.service} in {snapshot.source}"
            )
    report = mesh_audit.audit(snapshot=snapshot, services=services)
    unread = [f"could not read {kind}: {why}" for kind, why in sorted(snapshot.errors.items())]
    return Reply(command="audit", ok=True, audit=report, warnings=unread or None)
