"""deploy/monitoring: the alert rules pass promtool, and each alert fires when it should.

The PrometheusRule's groups are checked with `promtool check rules` and unit-tested with
`promtool test rules` (Debian's prometheus package): made-up series of meshgate's own metrics
in, the alert and the summary a person reads out, and no alert from healthy series. The
dashboard's queries are parsed by promtool too, and every metric it or the rules name is one
that bot/observability.py exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import observability
from tests.support import deploy
from workflows.errors import ErrorCode

MONITORING = deploy.DEPLOY / "monitoring"
HEALTHY = [
    {"series": 'up{job="meshgate", instance="a"}', "values": "1x40"},
    {"series": 'meshgate_last_good_sweep_timestamp_seconds{sweep="expiry", instance="a"}',
     "values": "0+60x40"},
    {"series": 'meshgate_last_good_sweep_timestamp_seconds{sweep="watch", instance="a"}',
     "values": "0+60x40"},
    {"series": 'meshgate_unreadable_kinds{instance="a"}', "values": "0x40"},
    {"series": 'meshgate_commands_total{verb="status", outcome="ok", instance="a"}',
     "values": "0+60x40"},
]  # fmt: skip
# (alert, series that make it fire, when, labels, the summary a person reads)
FIRING = [
    ("MeshgateDown", [{"series": 'up{job="meshgate", instance="a"}', "values": "0x40"}],
     "10m", {"severity": "critical"}, "No meshgate replica answers /metrics"),
    ("MeshgateSweepStale",
     [{"series": 'meshgate_last_good_sweep_timestamp_seconds{sweep="expiry", instance="a"}',
       "values": "0x40"}],
     "20m", {"severity": "warning", "sweep": "expiry"},
     "meshgate's expiry sweep has not finished cleanly for 10 minutes"),
    # meshgate is up, but no watch sweep has ever finished cleanly: the series does not exist
    ("MeshgateSweepStale",
     [{"series": 'up{job="meshgate", instance="a"}', "values": "1x40"},
      {"series": 'meshgate_last_good_sweep_timestamp_seconds{sweep="expiry", instance="a"}',
       "values": "0+60x40"}],
     "20m", {"severity": "warning", "sweep": "watch"},
     "meshgate's watch sweep has not finished cleanly for 10 minutes"),
    ("MeshgateWatchBlind", [{"series": 'meshgate_unreadable_kinds{instance="a"}',
                             "values": "0 0 2x40"}],
     "20m", {"severity": "warning"}, "meshgate cannot read 2 kind(s) of the cluster"),
    ("MeshgateDependencyErrors",
     [{"series": 'meshgate_dependency_errors_total{dependency="redis", kind="ConnectionError",'
                 ' instance="a"}', "values": "0+30x40"}],
     "20m", {"severity": "warning", "dependency": "redis"},
     "meshgate's calls to redis fail (500m/s)"),
    ("MeshgateCommandsFailing",
     [{"series": 'meshgate_commands_total{verb="status", outcome="ok", instance="a"}',
       "values": "0+60x40"},
      {"series": 'meshgate_commands_total{verb="status", outcome="unavailable", instance="a"}',
       "values": "0+10x40"}],
     "25m", {"severity": "warning"}, "14.29% of chat commands fail on meshgate's side"),
    ("MeshgateChangeFailed", [{"series": 'meshgate_changes_total{result="failed", instance="a"}',
                               "values": "0 0 0 1x40"}],
     "5m", {"severity": "warning"}, "A change meshgate applied to the cluster failed"),
]  # fmt: skip


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make test` installs Debian's prometheus"
    return found


def rules() -> dict[str, Any]:
    (rule,) = deploy.of_kind(deploy.render(Path("monitoring")), "PrometheusRule")
    return {"groups": rule["spec"]["groups"]}


def alert_rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in rules()["groups"] for r in g["rules"] if "alert" in r}


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_rule_groups_pass_promtool_check(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules()))
    done = run_promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_every_alert_has_a_firing_case() -> None:
    assert {case[0] for case in FIRING} == set(alert_rules())


@pytest.mark.parametrize("case", FIRING, ids=[f"{c[0]}-{c[2]}" for c in FIRING])
def test_each_alert_fires_on_its_symptom_and_not_on_healthy_series(
    tmp_path: Path, case: tuple[str, list[dict[str, str]], str, dict[str, str], str]
) -> None:
    name, series, at, labels, summary = case
    description = alert_rules()[name]["annotations"]["description"]
    assert "{{" not in description  # so it is compared verbatim below
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules()))
    firing = {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": at, "alertname": name,
             "exp_alerts": [{"exp_labels": labels,
                             "exp_annotations": {"summary": summary,
                                                 "description": description}}]},
        ],
    }  # fmt: skip
    healthy = {
        "interval": "1m",
        "input_series": HEALTHY,
        "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}],
    }
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [firing, healthy]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))

    done = run_promtool("test", "rules", "tests.yaml", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr


def dashboard() -> dict[str, Any]:
    (config_map,) = deploy.of_kind(deploy.render(Path("monitoring")), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    return dict(json.loads(config_map["data"]["meshgate.json"]))


def expressions() -> list[str]:
    panels = [t["expr"] for p in dashboard()["panels"] for t in p["targets"]]
    return panels + [r["expr"] for r in alert_rules().values()]


def test_the_dashboards_queries_parse(tmp_path: Path) -> None:
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p["targets"]]
    recording = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel{i}", "expr": e} for i, e in enumerate(exprs)]}]}  # fmt: skip
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump(recording))
    done = run_promtool("check", "rules", "dashboard.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_and_dashboard_name_only_metrics_meshgate_exports() -> None:
    exported = {
        sample
        for family in observability.REGISTRY.collect()
        for sample in (family.name, f"{family.name}_total", f"{family.name}_bucket")
    }
    used = {name for expr in expressions() for name in re.findall(r"\b(meshgate_[a-z_]+)\b", expr)}
    assert used and used <= exported, used - exported
    families = {family.name for family in observability.REGISTRY.collect()}
    shown = {f for f in families if any(f in expr for expr in expressions())}
    assert shown == families, f"not on the dashboard or in a rule: {families - shown}"


# Every label a rule or panel matches on, and the values meshgate really gives it.
PRODUCED: dict[str, set[str]] = {
    "outcome": {"ok", *(code.value for code in ErrorCode)},
    "result": {result.value for result in observability.ChangeResult},
    "sweep": {sweep.value for sweep in observability.Sweep},
    "dependency": {dependency.value for dependency in observability.Dependency},
    "job": {"meshgate"},  # deploy/monitoring/servicemonitor.yaml: the Service's name
}


def test_rules_and_dashboard_match_only_label_values_meshgate_produces() -> None:
    matchers = [
        (label, value)
        for expr in expressions()
        for label, op, values in re.findall(r'(\w+)\s*(=~|=)\s*"([^"]*)"', expr)
        for value in (values.split("|") if op == "=~" else [values])
    ]
    assert matchers
    unknown = [(label, value) for label, value in matchers if value not in PRODUCED.get(label, ())]
    assert unknown == [], f"matched on values no series carries: {unknown}"
