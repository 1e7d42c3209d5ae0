"""Chat text to typed commands: the right command, or a usage error with the right form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import parsing
from commands.errors import UsageError
from workflows.errors import ErrorCode
from workflows.naming import ServiceRef
from workflows.rollout import events

SHOP = ServiceRef("shop", "checkout")

PARSED = [
    ("", parsing.Help()),
    ("help", parsing.Help()),
    ("/rollout list", parsing.ListRollouts()),
    ("start shop/checkout", events.Start(SHOP)),
    ("/rollout status shop/checkout", parsing.Status(SHOP)),
    ("  ADVANCE   shop/checkout ", events.Advance(SHOP)),
    ("approve shop/checkout", events.Approve(SHOP)),
    ("reject shop/checkout not during the sale", events.Reject(SHOP, "not during the sale")),
    ("reject shop/checkout", events.Reject(SHOP, "")),
    (
        "attest shop/checkout loadtest-done p99 412ms",
        events.Attest(SHOP, "loadtest-done", "p99 412ms"),
    ),
    ("rollback shop/checkout", events.Rollback(SHOP)),
    ("abort shop/checkout wrong cluster", events.Abort(SHOP, "wrong cluster")),
    ("history shop/checkout", parsing.History(SHOP)),
    ("metrics shop/checkout", parsing.Metrics(SHOP)),
    ("plan shop/checkout", parsing.Plan(SHOP)),
    ("audit", parsing.Audit(None)),
    ("audit shop/checkout", parsing.Audit(SHOP)),
    ("ack a1b2", parsing.Ack("a1b2")),
    ("snooze a1b2 2h", parsing.Snooze("a1b2", timedelta(hours=2))),
]  # fmt: skip


@pytest.mark.parametrize(("text", "command"), PARSED, ids=[t or "empty" for t, _ in PARSED])
def test_parses(text: str, command: parsing.Command) -> None:
    assert parsing.parse(text) == command


USAGE_ERRORS = [
    ("deploy shop/checkout", "unknown command 'deploy'", "help"),
    ("start", "needs a service", "start NS/NAME"),
    ("start checkout", "expected NS/NAME", "start NS/NAME"),
    ("start Shop/checkout", "namespace 'Shop' is not a valid Kubernetes name", "start NS/NAME"),
    ("start shop/9lives", "service name '9lives' is not a valid", "start NS/NAME"),
    ("start shop/" + "a" * 64, "longer than 63", "start NS/NAME"),
    ("start shop/a/b", "expected NS/NAME", "start NS/NAME"),
    ("status shop/checkout now", "takes only a service", "status NS/NAME"),
    ("attest shop/checkout", "needs the checklist item", "attest NS/NAME ITEM [note]"),
    ("attest shop/checkout Bad_Item", "not a checklist item id", "attest NS/NAME ITEM [note]"),
    ("reject shop/checkout " + "x" * 501, "keep it under 500", "reject NS/NAME [reason]"),
    ("list all", "takes no arguments", "list"),
    ("snooze a1 forever", "duration like 30m", "snooze ALERT DURATION"),
    ("snooze a1 31d", "between 1m and 30d", "snooze ALERT DURATION"),
    (
        "snooze x 99999999999999999999h",
        "between 1m and 30d, not '99999999999999999999h'",
        "snooze ALERT DURATION",
    ),
    ("snooze a1 0m", "between 1m and 30d", "snooze ALERT DURATION"),
    ("ack", "takes 1 argument", "ack ALERT"),
]


@pytest.mark.parametrize(
    ("text", "says", "usage"), USAGE_ERRORS, ids=[t[:30] for t, _, _ in USAGE_ERRORS]
)
def test_usage_errors_show_the_right_form(text: str, says: str, usage: str) -> None:
    with pytest.raises(UsageError) as error:
        parsing.parse(text)
    assert error.value.code is ErrorCode.USAGE
    assert says in error.value.message
    assert usage in error.value.usage


def test_every_verb_has_a_usage_and_a_summary() -> None:
    assert set(parsing.USAGE) == set(parsing.SUMMARY)
    assert set(parsing.USAGE) == {
        "help", "list", "start", "status", "advance", "approve", "reject", "attest",
        "rollback", "abort", "history", "metrics", "audit", "plan", "ack", "snooze",
    }  # fmt: skip


verbs = st.sampled_from([*parsing.USAGE, "/rollout", "deploy", ""])
words = st.text(min_size=0, max_size=30)
services = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}/[a-z][a-z0-9-]{0,10}", fullmatch=True), words
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.tuples(verbs, services, words).map(" ".join)))
def test_any_text_gives_a_command_or_a_usage_error(text: str) -> None:
    try:
        command = parsing.parse(text)
    except UsageError as e:
        assert e.message and e.usage
    else:
        assert parsing.verb_of(command) in parsing.USAGE
