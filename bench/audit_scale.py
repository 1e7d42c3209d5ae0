"""Benchmark: one live snapshot + audit of a generated mesh at two sizes, side by side.

Generates a mesh of 2,000 services in 200 namespaces and one of 200 services in 20
namespaces (each service: a Service, a Deployment, two injected pods, an AuthorizationPolicy;
each namespace: a STRICT PeerAuthentication and a DestinationRule; a mesh-wide policy in
istio-system), serves each from the fake Kubernetes API server of tests/support (in a child
process, so its memory is not counted), reads it with `LiveClusterReader.snapshot()` over
HTTP and runs `workflows.audit.audit(snapshot=...)`.

Prints, for both sizes: API requests (discovery, first pages, continuation pages), wall time
of the snapshot and of the audit (a run without tracemalloc), and peak Python memory of
snapshot + audit (a second run, under tracemalloc). One LIST per kind means the requests do
not grow with the number of services; only continuation pages grow, with objects / page size.

Run: .venv/bin/python bench/audit_scale.py
"""

from __future__ import annotations

import multiprocessing
import re
import sys
import time
import tracemalloc
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.kube.live import DEFAULT_PAGE_SIZE, LiveClusterReader  # noqa: E402
from tests.support.kube_api import FakeKubeApi  # noqa: E402
from workflows.audit import auditing as audit  # noqa: E402
from workflows.mesh.snapshot import ClusterSnapshot  # noqa: E402

Obj = dict[str, Any]
SIZES = ((200, 20), (2000, 200))  # (services, namespaces)
PODS_PER_SERVICE = 2
_DISCOVERY = re.compile(r"/apis/[^/]+/v[0-9a-z]+")


def generate(services: int, namespaces: int) -> list[Obj]:
    """The objects of a mesh of `services` services spread over `namespaces` namespaces."""
    objects: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
        {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
         "metadata": {"name": "default", "namespace": "istio-system"},
         "spec": {"mtls": {"mode": "PERMISSIVE"}}},
    ]  # fmt: skip
    for n in range(namespaces):
        ns = f"team-{n:03d}"
        objects += [
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": ns, "labels": {"istio-injection": "enabled"}}},
            {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
             "metadata": {"name": "default", "namespace": ns},
             "spec": {"mtls": {"mode": "STRICT"}}},
            {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
             "metadata": {"name": "default", "namespace": ns},
             "spec": {"host": f"*.{ns}.svc.cluster.local",
                      "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}},
        ]  # fmt: skip
    for s in range(services):
        ns, name = f"team-{s % namespaces:03d}", f"svc-{s:04d}"
        labels = {"app": name, "version": "v1"}
        objects += [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
             "spec": {"selector": {"app": name},
                      "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": name, "namespace": ns},
             "spec": {"replicas": PODS_PER_SERVICE, "selector": {"matchLabels": {"app": name}},
                      "template": {"metadata": {"labels": labels},
                                   "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}},
            {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
             "metadata": {"name": f"{name}-allow", "namespace": ns},
             "spec": {"selector": {"matchLabels": {"app": name}}, "action": "ALLOW",
                      "rules": [{"from": [{"source": {"principals": [
                          f"cluster.local/ns/{ns}/sa/caller"]}}]}]}},
        ]  # fmt: skip
        for p in range(PODS_PER_SERVICE):
            objects.append(_pod(ns, f"{name}-7d9f8-{p:02d}", labels, name))
    return objects


def _pod(ns: str, name: str, labels: dict[str, str], owner: str) -> Obj:
    ready = {"ready": True, "started": True, "restartCount": 0}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {**labels, "security.istio.io/tlsMode": "istio"},
            "annotations": {"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{owner}-7d9f8",
                    "uid": "x",
                    "controller": True,
                }
            ],
        },  # fmt: skip
        "spec": {
            "serviceAccountName": owner,
            "containers": [
                {"name": "app", "image": "app:1", "ports": [{"containerPort": 8080}]},
                {
                    "name": "istio-proxy",
                    "image": "proxyv2:1.30.3",
                    "securityContext": {"runAsUser": 1337},
                },
            ],
        },  # fmt: skip
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", **ready}, {"name": "istio-proxy", **ready}],
        },
    }


def _serve(objects: list[Obj], conn: Connection) -> None:
    """Child process: serve `objects`; answer `count` with the request log; stop on `stop`."""
    with FakeKubeApi(objects) as api:
        conn.send(api.url)
        while True:
            command = conn.recv()
            if command == "count":
                conn.send([(r.path, bool(r.query.get("continue"))) for r in api.log])
                api.reset_counts()
            elif command == "stop":
                return


def _run(url: str) -> tuple[ClusterSnapshot, Any, float, float]:
    with LiveClusterReader.for_host(url) as reader:
        started = time.perf_counter()
        snapshot = reader.snapshot()
        read = time.perf_counter() - started
    started = time.perf_counter()
    report = audit.audit(snapshot=snapshot)
    return snapshot, report, read, time.perf_counter() - started


def measure(services: int, namespaces: int) -> dict[str, Any]:
    """Serve a generated mesh in a child process; read and audit it twice."""
    objects = generate(services, namespaces)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(objects, child))
    process.start()
    try:
        url = parent.recv()
        snapshot, report, read_s, audit_s = _run(url)
        parent.send("count")
        log: list[tuple[str, bool]] = parent.recv()
        tracemalloc.start()
        _run(url)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        parent.send("count")
        parent.recv()
        parent.send("stop")
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    paths = Counter(path for path, _ in log)
    discovery = sum(n for p, n in paths.items() if p == "/apis" or _DISCOVERY.fullmatch(p))
    continued = sum(1 for _, cont in log if cont)
    return {
        "services": services,
        "namespaces": namespaces,
        "objects": len(objects),
        "pods": services * PODS_PER_SERVICE,
        "requests": len(log),
        "discovery": discovery,
        "first_pages": len(log) - discovery - continued,
        "continued": continued,
        "read_s": read_s,
        "audit_s": audit_s,
        "peak_mib": peak / 2**20,
        "audited": len(report.services),
        "findings": sum(len(s.findings) for s in report.services),
        "errors": dict(snapshot.errors),
    }


def main() -> int:
    """Measure both sizes and print them side by side with the ratio."""
    small, large = (measure(s, n) for s, n in SIZES)
    rows = [
        ("services / namespaces", "{services} / {namespaces}", None),
        ("objects served (pods)", "{objects} ({pods})", None),
        ("API requests", "{requests}", "requests"),
        ("  discovery", "{discovery}", None),
        ("  first page per kind", "{first_pages}", None),
        (f"  continuation pages (limit {DEFAULT_PAGE_SIZE})", "{continued}", None),
        ("snapshot wall time (s)", "{read_s:.3f}", "read_s"),
        ("audit wall time (s)", "{audit_s:.3f}", "audit_s"),
        ("peak memory, snapshot + audit (MiB)", "{peak_mib:.1f}", "peak_mib"),
        ("services audited / findings", "{audited} / {findings}", None),
    ]
    print(f"{'':44}{'small':>16}{'large':>16}{'large/small':>14}")
    for label, template, ratio_key in rows:
        ratio = ""
        if ratio_key is not None and small[ratio_key]:
            ratio = f"{large[ratio_key] / small[ratio_key]:.2f}x"
        print(f"{label:44}{template.format(**small):>16}{template.format(**large):>16}{ratio:>14}")
    print(f"{'services ratio':44}{'':>16}{'':>16}{SIZES[1][0] / SIZES[0][0]:>13.2f}x")
    for result in (small, large):
        if result["errors"]:
            print(f"read errors at {result['services']} services: {result['errors']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
