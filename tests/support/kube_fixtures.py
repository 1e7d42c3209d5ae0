"""Pytest fixtures for the fake Kubernetes API server (tests/support/kube_api.py).

Register with `pytest_plugins = ["tests.support.kube_fixtures"]` in tests/conftest.py.
`kube_api` is a started, empty server (seed it with `kube_api.seed([...])`); `kube_api_factory`
starts servers with objects, resources or CRD schemas of the test's choosing. Both stop the
server at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pytest

from tests.support import reference
from tests.support.kube_api import DEFAULT_RESOURCES, FakeKubeApi, ResourceType, load_crd_schemas

REFERENCE = reference.REFERENCE
ISTIO_CRDS = REFERENCE / "istio" / "crd-all.gen.yaml"

KubeApiFactory = Callable[..., FakeKubeApi]


@pytest.fixture(scope="session")
def istio_crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema from Istio's CRD bundle."""
    return load_crd_schemas(ISTIO_CRDS)


@pytest.fixture
def kube_api_factory() -> Iterator[KubeApiFactory]:
    """Start fake API servers on free loopback ports; all are stopped after the test."""
    started: list[FakeKubeApi] = []

    def start(
        objects: Iterable[dict[str, Any]] = (),
        *,
        resources: Sequence[ResourceType] = DEFAULT_RESOURCES,
        schemas: dict[tuple[str, str, str], dict[str, Any]] | None = None,
        token: str | None = None,
    ) -> FakeKubeApi:
        api = FakeKubeApi(objects, resources=resources, schemas=schemas, token=token).start()
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def kube_api(kube_api_factory: KubeApiFactory) -> FakeKubeApi:
    """An empty, started fake API server."""
    return kube_api_factory()
