"""deploy/ renders with `kubectl kustomize` into valid, hardened objects; the image fits.

Every kustomization under deploy/ is rendered by the real kubectl and each object validated
against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields fail) of the
oldest and newest releases it targets. There is no container engine here, so the image is not
built: the Dockerfile is read and checked against the package and the Deployment instead.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.support import deploy

KUSTOMIZATIONS = deploy.kustomizations()
IDS = [str(k) for k in KUSTOMIZATIONS]
APPS = [k for k in KUSTOMIZATIONS if deploy.of_kind(deploy.render(k), "Deployment")]
APP_IDS = [str(k) for k in APPS]
# Kubernetes 1.27 is the oldest release still in the main clouds' extended support; the
# newest is the newest schema kubernetes-validate ships.
K8S_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
# Custom resources the Kubernetes schemas do not know; checked by their own tests.
CUSTOM_KINDS = {"PrometheusRule", "ServiceMonitor"}
PLAYBOOK = deploy.ROOT / "workflows" / "istio-playbook.yaml"


def test_there_is_a_base_and_the_overlays_the_readme_names() -> None:
    names = {str(k) for k in KUSTOMIZATIONS}
    assert {"base", "overlays/read-only", "overlays/redis", "overlays/gateway-namespaces"} <= names


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=IDS)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_rendered_object_is_valid_kubernetes(folder: Path, version: str) -> None:
    objects = deploy.render(folder)
    assert objects
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        where = f"deploy/{folder}: {obj['kind']} {obj['metadata'].get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{where} is invalid in Kubernetes {version}: {e.message} at {e.path}")
        assert obj["metadata"].get("namespace") or obj["kind"] in _CLUSTER_SCOPED, (
            f"{where} has no namespace: kubectl apply -k would put it in `default`"
        )


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def _container(objects: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    pod = deploy.one(objects, "Deployment", "meshgate")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


@pytest.mark.parametrize("folder", APPS, ids=APP_IDS)
def test_the_deployment_is_replicated_unprivileged_and_probed(folder: Path) -> None:
    objects = deploy.render(folder)
    deployment = deploy.one(objects, "Deployment", "meshgate")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(objects, "meshgate")
    security = container["securityContext"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert pod["serviceAccountName"] == "meshgate"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        selector = deploy.one(objects, kind, "meshgate")["spec"]
        selector = selector.get("selector") or selector["podSelector"]
        assert selector["matchLabels"].items() <= labels.items(), f"{kind} selects the pods"
    assert deploy.one(objects, "PodDisruptionBudget", "meshgate")["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("folder", APPS, ids=APP_IDS)
def test_slack_tokens_and_the_redis_url_come_from_secrets(folder: Path) -> None:
    env = {e["name"]: e for e in _container(deploy.render(folder), "meshgate")["env"]}
    for name, key in [
        ("MESHGATE_SLACK_BOT_TOKEN", "bot-token"),
        ("MESHGATE_SLACK_SIGNING_SECRET", "signing-secret"),
        ("MESHGATE_SLACK_APP_TOKEN", "app-token"),
    ]:
        assert env[name]["valueFrom"]["secretKeyRef"] == {
            "name": "meshgate-slack",
            "key": key,
            **({"optional": True} if key != "bot-token" else {}),
        }
    assert env["MESHGATE_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "meshgate-redis"
    assert not [e for e in env.values() if "TOKEN" in e["name"] and "value" in e]


@pytest.mark.parametrize("folder", APPS, ids=APP_IDS)
def test_the_playbook_config_map_is_the_packaged_playbook(folder: Path) -> None:
    objects = deploy.render(folder)
    maps = [
        o
        for o in deploy.of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("meshgate-playbook")
    ]
    assert [m["data"]["playbook.yaml"] for m in maps] == [PLAYBOOK.read_text("utf-8")], (
        "deploy/base/istio-playbook.yaml differs from workflows/istio-playbook.yaml: "
        "run `make deploy-playbook`"
    )
    mounts = {m["name"]: m["mountPath"] for m in _container(objects, "meshgate")["volumeMounts"]}
    playbook = deploy.settings(objects)["MESHGATE_PLAYBOOK"]
    assert playbook == f"{mounts['playbook']}/playbook.yaml"


def test_the_read_only_overlay_cannot_write_and_says_so() -> None:
    objects = deploy.render(Path("overlays/read-only"))
    verbs = {verb for _, rule in deploy.bound_rules(objects) for verb in rule["verbs"]}
    assert verbs == {"list", "get"}
    assert deploy.settings(objects)["MESHGATE_READ_ONLY"] == "true"


def test_the_redis_overlay_keeps_an_append_only_file_on_a_volume_claim() -> None:
    objects = deploy.render(Path("overlays/redis"))
    redis = deploy.one(objects, "StatefulSet", "meshgate-redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    claims = redis["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    mounts = redis["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/data"} in mounts
    policy = deploy.one(objects, "NetworkPolicy", "meshgate-redis")["spec"]
    assert policy["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "meshgate"}}}
    ]


# The Dockerfile ---------------------------------------------------------------------------

DOCKERFILE = deploy.DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    parsed = [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]
    last_from = max(i for i, (op, _) in enumerate(parsed) if op == "FROM")
    return parsed[last_from:]


def test_the_image_runs_the_packaged_console_script_as_the_deployment_user() -> None:
    project = tomllib.loads((deploy.ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    (script,) = project["scripts"]
    final = dict(_instructions())
    entrypoint = [str(part) for part in json.loads(final["ENTRYPOINT"])]
    assert Path(entrypoint[0]).name == script, "the entrypoint is the package's console script"
    user = final["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric, non-root USER (runAsNonRoot needs it)"
    pod = deploy.one(deploy.render(Path("base")), "Deployment", "meshgate")["spec"]["template"]
    assert pod["spec"]["securityContext"]["runAsUser"] == int(user)
    cmd = json.loads(final["CMD"])
    assert cmd == pod["spec"]["containers"][0]["args"]


def test_the_image_installs_this_package_from_a_pinned_slim_base() -> None:
    text = DOCKERFILE.read_text("utf-8")
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.M)
    sources = {part for line in copied for part in line.split()}
    packages = {"bot", "commands", "workflows"}
    assert packages | {"pyproject.toml", "README.md"} <= sources
    for source in sources:
        assert (deploy.ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert "pip install ." in text
