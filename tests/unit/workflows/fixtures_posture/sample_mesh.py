"""Istio's sample applications as a cluster would show them, written to a manifest folder.

Copies reference/istio/samples (Bookinfo, httpbin, sleep, curl, their gateways and the all-mTLS
DestinationRules), the chosen task policies, an injection-enabled `default` namespace, and the
pods the Deployments would run (see kubelet.py) with the ingress gateway pod, so
`ManifestReader` and `meshgate audit --manifests` see a running, injected mesh.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from tests.unit.workflows.fixtures_posture import builders, kubelet

SAMPLES = builders.REFERENCE / "samples"
MESH_STRICT = builders.peer_authentication("default", "istio-system", "STRICT")
# The ingress gateway pod the samples' Gateways select (`istio: ingressgateway`).
INGRESS_GATEWAY_POD = kubelet.pod(
    name="istio-ingressgateway-7f9c8d6b5-x2k9q",
    namespace="istio-system",
    labels={"istio": "ingressgateway", "app": "istio-ingressgateway"},
)


def write(
    folder: Path,
    *,
    tasks: Sequence[str] = ("authz-http.yaml",),
    strict: bool = True,
    injected: bool = True,
) -> Path:
    """Fill `folder` with the sample mesh; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    deployments = []
    for sample in sorted(SAMPLES.glob("*.yaml")):
        shutil.copy(sample, folder / sample.name)
        docs = yaml.safe_load_all(sample.read_text("utf-8"))
        deployments += [d for d in docs if d and d.get("kind") == "Deployment"]
    for task in tasks:
        shutil.copy(builders.REFERENCE / "tasks" / task, folder / f"task-{task}")
    cluster = [builders.injected_namespace("default")]
    cluster += kubelet.pods_for(deployments, injected=injected, namespace="default")
    cluster.append(INGRESS_GATEWAY_POD)
    if strict:
        cluster.append(MESH_STRICT)
    (folder / "cluster-state.yaml").write_text(yaml.safe_dump_all(cluster), "utf-8")
    return folder
