"""Which credentials reach the cluster: chosen in one place, the way kubectl chooses them.

The order is kubectl's (and the official client's `config.load_config`):

    --kubeconfig FILE             that file; `--context` picks a context in it
    KUBECONFIG=FILE[:FILE...]     those files, merged as kubectl merges them
    ~/.kube/config                when it exists
    the pod's service account     when none of the above exists and the process runs in a pod
                                  (KUBERNETES_SERVICE_HOST/PORT set, token mounted)
    none                          no cluster: the caller says so (or reads manifests)

`--context` (or MESHGATE_KUBE_CONTEXT) needs a kubeconfig: naming one where there is none is
an error, never a silent fall-back to the service account. Every reader and writer gets its
ApiClient from `api_client(target)`, so they always talk to the same cluster as the same user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as kube_client
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from bot.kube import transport
from bot.kube.errors import KubeConfigInvalid, short_message

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = Path("~/.kube/config")
_IN_CLUSTER_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


@dataclass(frozen=True)
class KubeTarget:
    """Where the credentials come from: kubeconfig file(s) and a context, or the pod's account."""

    kubeconfig: str | None = None  # a path, or KUBECONFIG's `a:b` list
    context: str | None = None  # None: the kubeconfig's current context
    in_cluster: bool = False
    service_account_dir: Path = SERVICE_ACCOUNT_DIR
    environ: Mapping[str, str] | None = None  # for the in-cluster host and port

    def describe(self) -> str:
        """What a person reads in `source` lines and errors."""
        if self.in_cluster:
            return "in-cluster service account"
        return f"context {self.context}" if self.context else "current context"


def choose(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str],
    home: Path | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> KubeTarget | None:
    """The credentials to use (see the module docstring); None when there are none at all.

    Raises KubeConfigInvalid when `kubeconfig` names a missing file, or `context` is given
    with no kubeconfig to find it in.
    """
    if kubeconfig:
        if not Path(kubeconfig).expanduser().is_file():
            raise KubeConfigInvalid(f"--kubeconfig {kubeconfig}: no such file")
        return KubeTarget(kubeconfig=kubeconfig, context=context)
    if environ.get("KUBECONFIG"):
        return KubeTarget(kubeconfig=environ["KUBECONFIG"], context=context)
    default = (home / ".kube" / "config") if home is not None else DEFAULT_KUBECONFIG
    if default.expanduser().is_file():
        return KubeTarget(kubeconfig=str(default), context=context)
    if context:
        raise KubeConfigInvalid(
            f"context {context!r} needs a kubeconfig, and there is none "
            f"(no --kubeconfig, KUBECONFIG unset, no {default})"
        )
    in_pod = all(environ.get(name) for name in _IN_CLUSTER_ENV)
    if in_pod and (service_account_dir / "token").is_file():
        return KubeTarget(
            in_cluster=True, service_account_dir=service_account_dir, environ=dict(environ)
        )
    return None


def api_client(target: KubeTarget) -> Any:
    """An ApiClient for `target` with meshgate's retry policy; KubeConfigInvalid if unusable."""
    if not target.in_cluster:
        return transport.api_client_from_kubeconfig(target.context, config_file=target.kubeconfig)
    configuration = kube_client.Configuration()
    loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
        token_filename=str(target.service_account_dir / "token"),
        cert_filename=str(target.service_account_dir / "ca.crt"),
        environ=target.environ if target.environ is not None else {},
    )
    try:
        loader.load_and_set(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as e:
        raise KubeConfigInvalid(f"in-cluster config: {short_message(str(e))}") from e
    return transport.api_client_from_configuration(configuration)
