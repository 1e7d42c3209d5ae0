"""JSON over the official client's ApiClient, and the ways to build one.

Clients come from a kubeconfig context, a `kubernetes.client.Configuration` (the pod's service
account, filled by bot.kube.credentials, which chooses between them), or a URL and token
(tests); every one shares meshgate's retry policy: connection failures are retried once,
reads never.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import urllib3
from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes.config.config_exception import ConfigException

from bot.kube.errors import (
    KubeConfigInvalid,
    KubeUnavailable,
    from_status,
    from_urllib3,
    short_message,
)

DEFAULT_TIMEOUT = 30.0
JSON = "application/json"
# Retry connection failures once, never a read: a read timeout is reported, not repeated
# (urllib3's default would make one slow LIST cost four timeouts).
_RETRIES = urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0, other=0)


class KubeTransport:
    """JSON over the `kubernetes` client's ApiClient: raw requests, translated errors.

    Uses `param_serialize` (which adds the credentials the configuration holds, refreshing
    exec-plugin tokens) and `call_api`, and parses the body with `json.loads`.
    """

    def __init__(self, api_client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.api_client = api_client
        self.timeout = timeout

    @property
    def host(self) -> str:
        """The API server URL."""
        return str(self.api_client.configuration.host)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        accept: str = JSON,
    ) -> Any:
        """Send one request and return the parsed JSON body; raise a KubeError on failure."""
        what = f"{method} {path}"
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            _, url, header_params, serialized, _ = self.api_client.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query) or None,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                method,
                url,
                header_params=header_params,
                body=serialized,
                _request_timeout=self.timeout,
            )
            try:
                data = response.read()
            finally:
                response.response.release_conn()
        except urllib3.exceptions.HTTPError as e:
            raise from_urllib3(e, what=what, timeout=self.timeout) from e
        except kube_client.ApiException as e:  # raised by the client for TLS failures
            detail = short_message(str(e.reason))
            raise KubeUnavailable(f"{what}: {detail}", status=e.status, detail=detail) from e
        if not 200 <= response.status <= 299:
            raise from_status(response.status, data, what=what)
        try:
            return json.loads(data) if data else {}
        except ValueError as e:
            raise KubeUnavailable(
                f"{what}: the response is not JSON", status=response.status
            ) from e

    def close(self) -> None:
        """Release pooled connections."""
        self.api_client.close()


def api_client_from_configuration(configuration: Any) -> Any:
    """An ApiClient for a `kubernetes.client.Configuration`, with meshgate's retry policy."""
    configuration.retries = _RETRIES
    return kube_client.ApiClient(configuration)


def api_client_for_host(host: str, *, token: str | None = None) -> Any:
    """An ApiClient for an API server URL and an optional bearer token."""
    configuration = kube_client.Configuration(host=host)
    if token is not None:
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    return api_client_from_configuration(configuration)


def api_client_from_kubeconfig(
    context: str | None = None, *, config_file: str | None = None
) -> Any:
    """An ApiClient for a kubeconfig context (None: the current one); KubeConfigInvalid if not."""
    configuration = kube_client.Configuration()
    try:
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=config_file,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError, TypeError) as e:
        raise KubeConfigInvalid(f"kubeconfig: {short_message(str(e))}") from e
    return api_client_from_configuration(configuration)
