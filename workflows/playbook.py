"""The playbook: phases, their checklists, changes, approval policies and metric gates.

A playbook is YAML validated into these pydantic models. `parse` turns text into a Playbook or
raises PlaybookInvalid listing every problem with its line and field, so a broken custom
playbook is fixed in one pass. A `check:` must name a check meshgate implements
(workflows.check_ids.KNOWN: the ids of workflows.gates.posture_checks.CHECKS) and a metric gate
a known metric: a misspelt id would otherwise stay `unknown` and block its phase for good.
The default Istio playbook (DESIGN.md,
"The default playbook") ships next to this module as `istio-playbook.yaml`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from enum import StrEnum
from importlib import resources
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from workflows import check_ids, playbook_issues, promql_templates
from workflows.durations import DURATION_RANGE as DURATION_RANGE
from workflows.durations import Duration as Duration
from workflows.durations import DurationOutOfRange as DurationOutOfRange
from workflows.durations import format_duration as format_duration
from workflows.durations import parse_duration as parse_duration
from workflows.errors import WorkflowError
from workflows.playbook_issues import PlaybookIssue as PlaybookIssue

SCHEMA = "meshgate.playbook/v1"
DEFAULT_PLAYBOOK_FILE = "istio-playbook.yaml"

_SLUG = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(StrEnum):
    """Stages of the production-readiness checklist (KubeCon NA 2018)."""

    ASSESS = "assess"  # look before touching anything
    IMPLEMENT = "implement"  # sidecars, metrics, routing, egress, load tests
    RELEASE = "release"  # certificates, DNS, mTLS, RBAC


class Metric(StrEnum):
    """Metrics a gate can read (DESIGN.md, "Metrics JSON")."""

    REQUEST_RATE = "request_rate"  # requests per second, server side
    SUCCESS_RATE = "success_rate"  # fraction of non-5xx responses
    LATENCY_P50_MS = "latency_p50_ms"  # median latency in milliseconds
    LATENCY_P90_MS = "latency_p90_ms"  # 90th percentile latency in milliseconds
    LATENCY_P99_MS = "latency_p99_ms"  # 99th percentile latency in milliseconds
    MTLS_SHARE = "mtls_share"  # fraction of requests received over mutual TLS
    FORBIDDEN_RATE = "forbidden_rate"  # 403 responses per second
    PLAINTEXT_CALLERS = "plaintext_callers"  # number of workloads calling without mTLS
    PASSTHROUGH_RATE = "passthrough_rate"  # requests per second to PassthroughCluster
    BLACKHOLE_RATE = "blackhole_rate"  # requests per second dropped at BlackHoleCluster
    SHADOW_DENIALS = "shadow_denials"  # dry-run AuthorizationPolicy denials per second


class MetricGate(_Model):
    """A bound on one metric, or on a custom PromQL query, over a window.

    `min` and `max` are inclusive, `above` is strict (a rate above zero: traffic is seen).
    `not_worse` compares with the "before" snapshot stored when the phase's change was applied,
    allowing `margin` (in the metric's unit, a fraction for shares); the bounds apply as well,
    and they alone decide when no "before" exists (the reply says so). `query` is PromQL with
    `{namespace}`, `{service}` and `{window}` placeholders and must return one value.
    """

    metric: Metric | None = None
    query: str | None = None
    min: float | None = None
    max: float | None = None
    above: float | None = None
    not_worse: bool = False
    margin: Annotated[float, Field(ge=0)] = 0.0
    window: Duration = timedelta(minutes=30)

    @field_validator("query")
    @classmethod
    def _known_placeholders(cls, query: str | None) -> str | None:
        found = promql_templates.problems(query) if query is not None else []
        if found:
            raise ValueError("; ".join(found))
        return query

    @model_validator(mode="after")
    def _has_a_bound(self) -> Self:
        if (self.metric is None) == (self.query is None):
            raise ValueError("a metric item needs exactly one of `metric` or `query`")
        if self.not_worse and self.query is not None:
            raise ValueError(
                "`not_worse` compares a named metric with its stored 'before'; "
                "give a custom query `min`, `max` or `above`"
            )
        if self.min is None and self.max is None and self.above is None and not self.not_worse:
            raise ValueError("a metric gate needs `min`, `max`, `above` or `not_worse: true`")
        return self


class ChecklistItem(_Model):
    """One line of a checklist: an automated check, a metric gate, or a human attestation."""

    id: Annotated[str, Field(pattern=_SLUG, max_length=63)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    check: str | None = None
    metric: MetricGate | None = None
    attest: bool = False
    required: bool = True

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Self:
        kinds = [k for k, on in (("check", self.check), ("metric", self.metric)) if on]
        if self.attest:
            kinds.append("attest")
        if len(kinds) != 1:
            raise ValueError(
                "an item needs exactly one of `check: ID`, `metric: {...}` or `attest: true`"
                + (f" (has {', '.join(kinds)})" if kinds else "")
            )
        return self


class ChangeKind(StrEnum):
    """What a phase changes in the cluster."""

    SIDECAR_INJECTION = "sidecar-injection"  # namespace injection label, then rollout restart
    PEER_AUTHENTICATION = "peer-authentication"  # a workload PeerAuthentication with `mode`
    AUTHORIZATION_POLICY = "authorization-policy"  # allow-list of the callers seen


class PhaseChange(_Model):
    """The change a phase applies after its approvals."""

    kind: ChangeKind
    mode: Literal["PERMISSIVE", "STRICT"] | None = None
    dry_run: bool = False
    deny_by_default: bool = False

    @model_validator(mode="after")
    def _mode_matches_kind(self) -> Self:
        if (self.kind is ChangeKind.PEER_AUTHENTICATION) != (self.mode is not None):
            raise ValueError("`mode` (PERMISSIVE or STRICT) goes with kind peer-authentication")
        return self


class ApprovalPolicy(_Model):
    """Who may approve a phase's change, how many must, and for how long a request stands.

    Empty `users` and `groups` mean: the deployment's default approvers (MESHGATE_APPROVERS).
    """

    required: Annotated[int, Field(ge=0, le=10)] = 1
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_self_approval: bool = False
    expires_after: Duration = timedelta(hours=24)


class OnFailure(StrEnum):
    """What meshgate does when a phase's verification still fails at its deadline."""

    ROLLBACK = "rollback"  # revert the change at once and say what failed
    HOLD = "hold"  # say what failed and wait for a person to roll back or advance again


class Verification(_Model):
    """How long a phase's `verify:` items may take to pass after its change, and what then.

    Defaults: ten minutes covers a rollout restart of a few replicas and the proxies' first
    config push; checks every 30 s (meshgate's verification sweep).
    """

    deadline: Duration = timedelta(minutes=10)
    interval: Duration = timedelta(seconds=30)
    on_failure: OnFailure = OnFailure.ROLLBACK


class Phase(_Model):
    """One phase: gate (before), change, verification (after), approvals."""

    id: Annotated[str, Field(pattern=_SLUG, max_length=63)]
    stage: Stage
    title: Annotated[str, Field(min_length=1, max_length=200)]
    gate: tuple[ChecklistItem, ...] = ()
    change: PhaseChange | None = None
    verify: tuple[ChecklistItem, ...] = ()
    verification: Verification = Verification()
    approvals: ApprovalPolicy = ApprovalPolicy()

    @model_validator(mode="after")
    def _unique_item_ids(self) -> Self:
        seen: set[str] = set()
        for item in (*self.gate, *self.verify):
            if item.id in seen:
                raise ValueError(f"checklist item id {item.id!r} is used twice in this phase")
            seen.add(item.id)
        return self

    @property
    def verified(self) -> bool:
        """True when the phase proves itself after its approvals: it has a change or checks."""
        return self.change is not None or bool(self.verify)

    def item(self, item_id: str) -> ChecklistItem | None:
        """The gate or verify item with this id."""
        return next((i for i in (*self.gate, *self.verify) if i.id == item_id), None)


class AbortRule(StrEnum):
    """Who may `abort` a rollout (a pending request is withdrawn with it)."""

    APPROVERS_OR_STARTER = "approvers-or-starter"  # the current phase's approvers, the starter
    APPROVERS = "approvers"  # the current phase's approvers only
    ANYONE = "anyone"  # anyone who can run commands


class AttestRule(StrEnum):
    """Whose attestations count towards a phase's gate."""

    NOT_REQUESTER = "not-requester"  # where the phase needs approval: not the one who advances
    ANYONE = "anyone"  # anyone's, the requester's included


class Access(_Model):
    """Who may do what beyond the approval policies (docs/design-notes.md, "Access rules").

    `start` and `advance`: anyone; `approve`: the phase's approvers, never the requester unless
    `allow_self_approval`; `reject`: the approvers or the requester; `rollback`: the approvers
    of the phase it reverts, when that phase needed approval. These two are the playbook's.
    """

    abort: AbortRule = AbortRule.APPROVERS_OR_STARTER
    attest: AttestRule = AttestRule.NOT_REQUESTER


class Playbook(_Model):
    """An ordered list of phases, and who may do what (`access`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["meshgate.playbook/v1"] = Field(alias="schema")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    phases: tuple[Phase, ...]
    access: Access = Access()

    @field_validator("phases")
    @classmethod
    def _unique_phase_ids(cls, phases: tuple[Phase, ...]) -> tuple[Phase, ...]:
        if not phases:
            raise ValueError("a playbook needs at least one phase")
        ids = [p.id for p in phases]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"phase ids must be unique; repeated: {', '.join(duplicates)}")
        return phases

    def phase(self, index: int) -> Phase:
        """The phase at `index`."""
        return self.phases[index]

    def index_of(self, phase_id: str) -> int:
        """The position of phase `phase_id` (a phase the rollout was at: it exists)."""
        return next(i for i, p in enumerate(self.phases) if p.id == phase_id)


class PlaybookInvalid(WorkflowError, ValueError):
    """A playbook failed to parse or validate; `issues` lists every problem found."""

    def __init__(self, source: str, issues: list[PlaybookIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {source}:{issue}" for issue in issues)
        super().__init__(f"{source}: {len(issues)} problem(s) in the playbook\n{lines}")


def parse(
    text: str, *, source: str = "<playbook>", checks: Collection[str] | None = None
) -> Playbook:
    """Parse and validate playbook YAML; raise PlaybookInvalid with every issue and its line.

    `checks` are the check ids a `check:` may name (default: every check meshgate implements).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(e, "problem", None) or str(e)
        raise PlaybookInvalid(source, [PlaybookIssue(line=line, field="", message=problem)]) from e
    if not isinstance(data, dict):
        raise PlaybookInvalid(
            source,
            [
                PlaybookIssue(
                    line=1, field="", message="expected a mapping with schema, name, phases"
                )
            ],
        )
    lines = playbook_issues.line_index(root)
    known = set(check_ids.KNOWN if checks is None else checks)
    unknown_checks = playbook_issues.unknown_checks(data, known=known, lines=lines)
    try:
        book = Playbook.model_validate(data)
    except ValidationError as e:
        issues = [
            playbook_issues.issue_from_error(err, lines) for err in e.errors()
        ] + unknown_checks
        raise PlaybookInvalid(source, sorted(issues, key=lambda i: i.line)) from e
    if unknown_checks:
        raise PlaybookInvalid(source, unknown_checks)
    return book


def default() -> Playbook:
    """The packaged Istio playbook."""
    text = resources.files(__package__).joinpath(DEFAULT_PLAYBOOK_FILE).read_text("utf-8")
    return parse(text, source=DEFAULT_PLAYBOOK_FILE)
