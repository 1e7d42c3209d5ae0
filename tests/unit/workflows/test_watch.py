"""The watch's decisions: one alert per cause, no repeats, resolution, blindness, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.audit.report import Regression, RegressionKind
from workflows.errors import ErrorCode
from workflows.rollout.happenings import Happening, HappeningKind
from workflows.rollout.state import CompletedPhase, Rollout, RolloutState
from workflows.watch import alerts, baselines, sweeping
from workflows.watch.alerts import BLIND_CAUSE, Alert, AlertRefused, AlertStatus
from workflows.watch.baselines import BaselineAction
from workflows.watch.sweeping import LineState, Policy, ReadHealth, Reading

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MESH = "PeerAuthentication istio-system/default"
POLICY = Policy(blind_after=3, escalate_after=timedelta(minutes=30))


def weakened(service: str, cause: str = MESH) -> Regression:
    return Regression(
        kind=RegressionKind.MTLS_WEAKENED,
        service=service,
        before="STRICT",
        after="PERMISSIVE",
        cause=cause,
    )


def sweep(
    regressions: list[Regression],
    open_alerts: list[Alert],
    *,
    at: datetime = T0,
    problem: str = "",
    health: ReadHealth | None = None,
) -> sweeping.Outcome:
    reading = Reading(regressions=regressions, watched=["shop/a", "shop/b"], problem=problem)
    return sweeping.decide(
        reading=reading, alerts=open_alerts, health=health or ReadHealth(), now=at, policy=POLICY
    )


def states(outcome: sweeping.Outcome) -> dict[str, str]:
    return {line.alert.cause: line.state.value for line in outcome.lines}


def test_a_mesh_wide_change_over_300_services_is_one_alert_listing_them() -> None:
    services = [f"team-{n % 30}/svc-{n:03d}" for n in range(300)]
    outcome = sweep([weakened(s) for s in services], [])
    assert [(line.alert.cause, line.state) for line in outcome.lines] == [(MESH, LineState.NEW)]
    assert outcome.lines[0].alert.services == tuple(sorted(services))
    assert outcome.lines[0].alert.kinds == ("mtls_weakened",)


def test_an_open_alert_is_not_opened_again_and_is_unchanged_when_nothing_moved() -> None:
    first = sweep([weakened("shop/a")], [])
    opened = first.changed[0]
    again = sweep([weakened("shop/a")], [opened], at=T0 + timedelta(minutes=1))
    assert states(again) == {MESH: "open"}
    assert again.changed == ()  # nothing to write, nothing to post


def test_a_new_service_under_the_same_cause_updates_the_alert_in_place() -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    again = sweep([weakened("shop/a"), weakened("shop/b")], [opened])
    assert states(again) == {MESH: "open"}
    (updated,) = again.changed
    assert updated.id == opened.id and updated.services == ("shop/a", "shop/b")
    assert updated.revision == opened.revision + 1  # its message is updated, not reposted


def test_a_cleared_cause_resolves_with_how_long_it_lasted() -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    later = T0 + timedelta(minutes=42)
    outcome = sweep([], [opened], at=later)
    assert states(outcome) == {MESH: "resolved"}
    (resolved,) = outcome.changed
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.lasted() == timedelta(minutes=42)


def test_a_partial_read_resolves_nothing_and_drops_no_service() -> None:
    opened = sweep([weakened("shop/a"), weakened("shop/b")], []).changed[0]
    outcome = sweep([weakened("shop/a")], [opened], problem="Pod: 503")
    assert states(outcome) == {MESH: "open"}
    assert outcome.changed == ()
    assert outcome.health.failures == 1


@pytest.mark.parametrize(
    ("failures", "blind"),
    [pytest.param(1, False, id="one-failure"), pytest.param(2, False, id="two-failures"),
     pytest.param(3, True, id="third-failure-goes-blind")],
)  # fmt: skip
def test_the_watch_goes_blind_after_n_failed_reads_in_a_row(failures: int, blind: bool) -> None:
    health = ReadHealth()
    outcome = None
    for n in range(failures):
        outcome = sweep([], [], at=T0 + timedelta(minutes=n), problem="Pod: 500", health=health)
        health = outcome.health
    assert outcome is not None
    assert (BLIND_CAUSE in states(outcome)) is blind
    if blind:
        (alert,) = outcome.changed
        assert alert.detail == "Pod: 500" and alert.blind
        assert alert.opened_at == T0  # blind since the first failed read


def test_blindness_is_one_alert_and_the_first_full_read_resolves_it() -> None:
    health = ReadHealth(failures=2, since=T0, problem="Pod: 500")
    blind = sweep([], [], problem="Pod: 500", health=health).changed[0]
    still = sweep([], [blind], problem="Pod: 500", health=ReadHealth(failures=3, since=T0))
    assert states(still) == {BLIND_CAUSE: "open"} and still.changed == ()
    back = sweep([], [blind], at=T0 + timedelta(minutes=5), health=still.health)
    assert states(back) == {BLIND_CAUSE: "resolved"}
    assert back.health == ReadHealth()


def test_escalation_is_once_after_the_configured_time_and_not_after_an_ack() -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    early = sweep([weakened("shop/a")], [opened], at=T0 + timedelta(minutes=29))
    assert early.escalated == ()
    due = sweep([weakened("shop/a")], [opened], at=T0 + timedelta(minutes=30))
    assert due.escalated == (opened.id,)
    escalated = due.changed[0]
    again = sweep([weakened("shop/a")], [escalated], at=T0 + timedelta(hours=3))
    assert again.escalated == ()
    acked = alerts.ack(opened, by="U1", now=T0 + timedelta(minutes=5))
    assert sweep([weakened("shop/a")], [acked], at=T0 + timedelta(hours=1)).escalated == ()


def test_a_snooze_holds_escalation_until_it_ends_and_the_clock_starts_again() -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    snoozed = alerts.snooze(opened, by="U1", duration=timedelta(hours=1), now=T0)
    regressions = [weakened("shop/a")]
    assert sweep(regressions, [snoozed], at=T0 + timedelta(minutes=59)).escalated == ()
    assert sweep(regressions, [snoozed], at=T0 + timedelta(minutes=89)).escalated == ()
    assert sweep(regressions, [snoozed], at=T0 + timedelta(minutes=90)).escalated == (opened.id,)


@pytest.mark.parametrize(
    ("prepare", "code"),
    [
        pytest.param(lambda a: alerts.ack(a, by="U1", now=T0), ErrorCode.ALREADY_DECIDED,
                     id="acked-twice"),
        pytest.param(lambda a: a.model_copy(update={"status": AlertStatus.RESOLVED}),
                     ErrorCode.CONFLICT, id="ack-resolved"),
    ],
)  # fmt: skip
def test_ack_refusals(prepare: object, code: ErrorCode) -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    assert callable(prepare)
    with pytest.raises(AlertRefused) as refused:
        alerts.ack(prepare(opened), by="U2", now=T0)
    assert refused.value.code is code


def test_rebase_keeps_a_persons_ack_over_the_sweeps_escalation() -> None:
    opened = sweep([weakened("shop/a")], []).changed[0]
    escalated = opened.shown(escalated_at=T0 + timedelta(minutes=30))
    acked = alerts.ack(opened, by="U1", now=T0 + timedelta(minutes=29)).model_copy(
        update={"version": 2}
    )
    merged = sweeping.rebase(escalated, onto=acked)
    assert merged.acked_by == "U1" and merged.escalated_at is None and merged.version == 2
    assert merged.revision > max(escalated.revision, acked.revision)


def rollout(*completed: str, state: RolloutState = RolloutState.IN_PROGRESS) -> Rollout:
    return Rollout(
        service="shop/a", playbook="istio", phase_index=0, phase="x", state=state,
        started_by="alice", started_at=T0, updated_at=T0,
        completed=tuple(CompletedPhase(phase=p, at=T0) for p in completed),
    )  # fmt: skip


def done(phase: str) -> Happening:
    return Happening(kind=HappeningKind.PHASE_COMPLETED, phase=phase)


def back(to: str, from_phase: str) -> Happening:
    return Happening(kind=HappeningKind.ROLLED_BACK, phase=to, from_phase=from_phase)


@pytest.mark.parametrize(
    ("completed", "happened", "action"),
    [
        pytest.param(("permissive", "strict"), [done("strict")], BaselineAction.STORE,
                     id="strict-completed-stores"),
        pytest.param(("strict", "rbac-dry-run", "rbac"), [done("rbac")], BaselineAction.STORE,
                     id="rbac-completed-updates"),
        pytest.param(("assess", "inject"), [done("inject")], BaselineAction.KEEP,
                     id="early-phase-keeps"),
        pytest.param(("permissive",), [back("strict", "rbac-dry-run")], BaselineAction.CLEAR,
                     id="strict-rolled-back-clears"),
        pytest.param(("strict",), [back("rbac-dry-run", "rbac")], BaselineAction.STORE,
                     id="rbac-rolled-back-keeps-strict-baseline"),
        pytest.param(("strict",), [Happening(kind=HappeningKind.ATTESTED, phase="rbac")],
                     BaselineAction.KEEP, id="attest-keeps"),
    ],
)  # fmt: skip
def test_what_a_transition_means_for_the_baseline(
    completed: tuple[str, ...], happened: list[Happening], action: BaselineAction
) -> None:
    assert baselines.after_transition(rollout=rollout(*completed), happened=happened) is action
