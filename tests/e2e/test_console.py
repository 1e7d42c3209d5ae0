"""`meshgate demo` and `meshgate console` end to end: a real process, a pipe, embedded Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
SVC = "shop/productpage"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    # a server left by a killed process is reused by the next one; stop it after the test
    for sock in state.rglob("redis.sock"):
        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
        except redis.RedisError:
            pass


def env_for(state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_")}
    return {**env, "MESHGATE_STATE_DIR": str(state_dir), **extra}


def demo(state_dir: Path, lines: list[str], *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [MESHGATE, "demo", "--format", "json", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env_for(state_dir),
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_snooze_too_long_to_compute_is_a_usage_error_and_the_console_goes_on(
    state_dir: Path,
) -> None:
    snooze, listed = demo(state_dir, ["snooze x 99999999999999999999h", "list"])
    assert snooze["error"]["code"] == "usage"
    assert "snooze for between 1m and 30d" in snooze["error"]["message"]
    assert listed["ok"] and listed["command"] == "list"  # the console is still there


def test_demo_through_a_pipe_gives_documented_replies_and_keeps_state(state_dir: Path) -> None:
    start, status, advance = demo(
        state_dir, [f"start {SVC}", f"/rollout status {SVC}", f"advance {SVC}"]
    )
    assert start["ok"] and start["rollout"]["state"] == "in_progress"
    rollout = status["rollout"]
    assert (rollout["service"], rollout["phase"], rollout["phase_index"]) == (SVC, "assess", 0)
    assert {item["status"] for item in rollout["checklist"]} <= {
        "pass", "fail", "unknown", "pending", "attested"
    }  # fmt: skip
    assert [item["id"] for item in rollout["checklist"]] == [
        "ports-named", "pods-running", "no-uid-1337", "no-host-network"
    ]  # fmt: skip
    if advance["ok"]:  # assess needs no approval: it completes and moves on
        assert advance["rollout"]["phase"] == "inject"
    else:
        assert advance["error"]["code"] == "gate_failed"
        assert advance["error"]["blockers"], "a refused advance says what blocks it"

    (history,) = demo(state_dir, [f"history {SVC}"], "--as", "carol")
    steps = [(h["actor"], h["action"]) for h in history["history"]]
    assert steps == [("alice", "start"), ("alice", "advance")]
    assert all(h["at"].endswith("Z") for h in history["history"])

    (again,) = demo(state_dir, [f"status {SVC}"])
    assert again["rollout"]["started_by"] == "alice"


def test_actor_switch_self_approval_and_other_replies_in_text(state_dir: Path) -> None:
    done = subprocess.run(
        [MESHGATE, "demo"],
        input="help\n:as bob\nlist\nstart shop/nope\nfrobnicate\n",
        capture_output=True,
        text=True,
        env=env_for(state_dir),
        timeout=60,
        check=False,
    )
    assert "You are alice" in done.stderr  # the guided tour
    out = done.stdout
    assert "snooze ALERT DURATION" in out
    assert "now acting as bob" in out
    assert "no rollouts yet" in out
    assert "error [not_found]: no Service shop/nope" in out
    assert "error [usage]: unknown command 'frobnicate'" in out
    assert done.returncode == 1  # the last command failed


def test_state_survives_a_killed_process_and_its_redis(state_dir: Path) -> None:
    with subprocess.Popen(
        [MESHGATE, "demo", "--format", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env_for(state_dir),
        start_new_session=True,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"start {SVC}\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["ok"]
        os.killpg(proc.pid, signal.SIGKILL)  # the console and its redis-server, no goodbyes
        proc.wait()

    (status,) = demo(state_dir, [f"status {SVC}"])
    assert status["ok"] and status["rollout"]["phase"] == "assess"


def test_unreachable_redis_answers_unavailable(state_dir: Path) -> None:
    done = subprocess.run(
        [MESHGATE, "console", "--format", "json", "--as", "bob"],
        input=f"status {SVC}\nlist\n",
        capture_output=True,
        text=True,
        env=env_for(state_dir, MESHGATE_REDIS_URL="redis://:hunter2@127.0.0.1:9/0"),
        timeout=60,
        check=False,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["error"]["code"] for r in replies] == ["unavailable", "unavailable"]
    assert "hunter2" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MESHGATE_REDIS_URL": "http://localhost"}, "MESHGATE_REDIS_URL"),
        ({"MESHGATE_SLASH_COMMAND": "rollout"}, "MESHGATE_SLASH_COMMAND"),
        ({"MESHGATE_PLAYBOOK": "/nonexistent/playbook.yaml"}, "cannot read the playbook"),
    ],
    ids=["redis-url-scheme", "slash-command", "missing-playbook"],
)
def test_bad_settings_give_one_clear_error(state_dir: Path, env: dict[str, str], says: str) -> None:
    done = subprocess.run(
        [MESHGATE, "demo"],
        input="",
        capture_output=True,
        text=True,
        env=env_for(state_dir, **env),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_playbook_validate_reports_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: meshgate.playbook/v1\nname: x\nphases:\n"
        "  - id: one\n    stage: rollout\n    title: One\n    approvals: {required: 11}\n"
    )
    done = subprocess.run(
        [MESHGATE, "playbook", "validate", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert f"{bad}:line 5: phases.0.stage" in done.stderr
    assert f"{bad}:line 7: phases.0.approvals.required" in done.stderr

    good = subprocess.run(
        [MESHGATE, "playbook", "validate", "workflows/istio-playbook.yaml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert good.returncode == 0 and "12 phase(s)" in good.stdout


def walk(service: str) -> list[str]:
    """The lines a person types to take `service` phase by phase, with bob and carol approving.

    dave attests the human items: the one who requests approval may not vouch for its gate.
    """
    lines = [f"start {service}"]
    for _ in range(12):
        lines += [
            ":as dave",
            f"attest {service} loadtest-done ran k6 for 30 min",
            f"attest {service} dns-switched",
            ":as alice",
            f"advance {service}",
            ":as bob",
            f"approve {service}",
            ":as carol",
            f"approve {service}",
            ":as alice",
        ]
    return lines + [f"status {service}", f"history {service}"]


def test_the_demo_takes_productpage_through_strict_on_its_numbers(state_dir: Path) -> None:
    replies = demo(state_dir, walk(SVC))
    completed = [
        h["phase"] for r in replies for h in r.get("happened", []) if h["kind"] == "phase_completed"
    ]
    assert completed[: completed.index("strict") + 1] == [
        "assess", "inject", "observe", "route", "egress", "loadtest", "certs", "dns",
        "permissive", "strict",
    ]  # fmt: skip
    strict_request = next(
        r["rollout"]["request"]
        for r in replies
        if r.get("rollout", {}).get("request", {}).get("id", "").startswith("strict-")
    )
    lines = {line["id"]: line for line in strict_request_checklist(replies)}
    assert lines["mtls-share"]["status"] == "pass" and "%" in lines["mtls-share"]["reason"]
    assert strict_request["metrics"]["mtls_share"] >= 0.999  # the numbers approvers saw


def strict_request_checklist(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in replies:
        rollout = r.get("rollout", {})
        if rollout.get("phase") == "strict" and rollout.get("state") == "awaiting_approval":
            return list(rollout["checklist"])
    raise AssertionError("strict never asked for approval")


def test_the_demo_shows_details_plaintext_caller_in_its_numbers(state_dir: Path) -> None:
    # details never gets that far in the demo (its pods are not ready), but its numbers say
    # what strict would refuse: a caller still sending plaintext, named with its rate
    (reply,) = demo(state_dir, ["metrics shop/details"])
    numbers = reply["metrics"]
    assert numbers["mtls_share"] < 0.999
    callers = {(c["namespace"], c["workload"]): c["rate"] for c in numbers["plaintext_callers"]}
    assert callers[("shop", "inventory")] > 0


REPO = Path(__file__).resolve().parents[2]
# The default playbook's `inject` with a deadline of 0s: the first check after the change is
# the last, so the demo shows a failed verification without waiting ten minutes.
FAST_INJECT = """\
schema: meshgate.playbook/v1
name: fast-inject
phases:
  - id: inject
    stage: implement
    title: Inject the sidecar
    gate: [{id: pods-ready, title: "Pods are running and ready", check: pods-ready}]
    change: {kind: sidecar-injection}
    verify: [{id: sidecars-ready, title: "Every pod has a ready proxy", check: sidecars-ready}]
    verification: {deadline: 0s}
    approvals: {required: 1}
  - id: done
    stage: release
    title: Done
"""


def test_the_demo_shows_a_failed_verification_rolled_back(state_dir: Path, tmp_path: Path) -> None:
    book = tmp_path / "fast.yaml"
    book.write_text(FAST_INJECT)
    lines = ["start shop/reviews", "advance shop/reviews", ":as bob", "approve shop/reviews"]
    done = subprocess.run(
        [MESHGATE, "demo", "--format", "json"],
        input="\n".join([*lines, "history shop/reviews"]) + "\n",
        capture_output=True,
        text=True,
        env=env_for(state_dir, MESHGATE_PLAYBOOK=str(book)),
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    start, advance, approve, history = [json.loads(line) for line in done.stdout.splitlines()]
    assert start["ok"] and advance["ok"], advance
    assert approve["ok"], approve
    assert (approve["rollout"]["phase"], approve["rollout"]["state"]) == ("inject", "rolled_back")
    said = approve["message"]
    assert "applied Deployment shop/reviews-v1, Deployment shop/reviews-v2, Deployment" in said
    assert "the verification of phase inject failed by its deadline: sidecars-ready" in said
    assert "pod reviews-v3-7d4b9c-a: not running a ready istio-proxy" in said  # what failed
    assert "reverted: " in said and "restored Deployment shop/reviews-v3" in said  # undone
    kinds = [h["kind"] for h in approve["happened"]]
    assert kinds == ["verifying", "verification_failed", "rolled_back"]
    steps = [(h["actor"], h["action"], h["outcome"]) for h in history["history"]][-3:]
    assert steps == [
        ("meshgate", "change", "ok"),
        ("meshgate", "verify", "conflict"),
        ("meshgate", "change", "ok"),
    ]


def test_the_readme_tour_piped_into_the_demo_gives_no_error(state_dir: Path) -> None:
    readme = (REPO / "README.md").read_text()
    tour = readme.split("## Try it", 1)[1].split("```", 2)[1].strip().splitlines()
    assert tour[0] == "start shop/productpage"
    done = subprocess.run(
        [MESHGATE, "demo", "--format", "json"],
        input="\n".join(tour) + "\n",
        capture_output=True,
        text=True,
        env=env_for(state_dir),
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("error") for r in replies if not r["ok"]] == []
    assert done.returncode == 0


def test_a_demo_service_walks_all_twelve_phases(state_dir: Path) -> None:
    lines = [f"start {SVC}"]
    for _ in range(12):
        lines += [":as alice", f"advance {SVC}", ":as bob", f"approve {SVC}", ":as carol",
                  f"approve {SVC}", ":as dave", f"attest {SVC} loadtest-done",
                  f"attest {SVC} dns-switched"]  # fmt: skip
    replies = demo(state_dir, [*lines, f"status {SVC}"])
    assert replies[-1]["rollout"]["state"] == "completed"


def test_meshgate_plan_prints_the_change_as_yaml_to_commit(state_dir: Path) -> None:
    done = subprocess.run(
        [MESHGATE, "plan", SVC, "--manifests", str(REPO / "bot" / "demo_mesh")],
        capture_output=True,
        text=True,
        env=env_for(state_dir),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))  # only YAML on stdout
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Deployment", "productpage-v1")  # the injection label is already on namespace shop
    ]
    bad = subprocess.run(
        [MESHGATE, "plan", "nope"], capture_output=True, text=True, env=env_for(state_dir),
        timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "NS/NAME" in bad.stderr
