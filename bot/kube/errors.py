"""Errors of the Kubernetes adapters, translated from `ApiException` and urllib3 errors.

The cause is kept (`raise ... from e`); tokens and payloads are not:


    KubeError                 a Kubernetes API call failed; `status`, `reason`, short message
    ├── KubeConfigInvalid     no usable kubeconfig / in-cluster service account
    ├── KubeUnavailable       cannot connect, 5xx, 429, broken response: try again later
    │   └── KubeTimeout       no answer within the request timeout
    │       └── KubeUnanswered  a write sent and not answered: it may have been stored
    ├── KubeForbidden         401 / 403: meshgate's RBAC does not allow it (deploy/base/rbac.yaml)
    ├── KubeNotFound          404: the object (or the kind) is not there
    ├── KubeConflict          409: already exists, modified meanwhile, or another field manager
    └── KubeInvalid           400 / 415 / 422: the server rejected the request as invalid
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import urllib3

from bot.errors import BotError


class KubeError(BotError):
    """A Kubernetes API call failed; the message is short and safe to log or show."""

    def __init__(
        self, message: str, *, status: int = 0, reason: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.detail = detail or message  # the message without the request it was about

    def about(self, what: str) -> KubeError:
        """The same error (same class and status), its message naming `what` was attempted."""
        return type(self)(
            f"{what}: {self.detail}", status=self.status, reason=self.reason, detail=self.detail
        )


class KubeConfigInvalid(KubeError):
    """No usable kubeconfig context or in-cluster service account."""


class KubeUnavailable(KubeError):
    """The API server cannot be reached or failed (5xx, 429, broken response)."""


class KubeTimeout(KubeUnavailable):
    """No answer within the request timeout."""


class KubeUnanswered(KubeTimeout):
    """A write was sent and not answered in time: the server may have stored it, or not."""


class KubeForbidden(KubeError):
    """401 or 403: meshgate is not allowed to do this (see deploy/base/rbac.yaml)."""


class KubeNotFound(KubeError):
    """404: the object or the kind is not there."""


class KubeConflict(KubeError):
    """409: the object already exists, changed meanwhile, or another manager owns a field."""


class KubeInvalid(KubeError):
    """400, 415 or 422: the server rejected the request as invalid."""


_BY_STATUS: Mapping[int, type[KubeError]] = {
    400: KubeInvalid,
    401: KubeForbidden,
    403: KubeForbidden,
    404: KubeNotFound,
    409: KubeConflict,
    415: KubeInvalid,
    422: KubeInvalid,
}
_MAX_MESSAGE = 200


def from_status(status: int, data: bytes, *, what: str) -> KubeError:
    reason, message = "", ""
    try:
        body = json.loads(data)
        if isinstance(body, dict):
            reason, message = str(body.get("reason", "")), str(body.get("message", ""))
    except ValueError:
        pass
    error = _BY_STATUS.get(status, KubeUnavailable if status >= 500 or status == 429 else KubeError)
    detail = f"{status} {reason or 'error'}"
    if message:
        detail += f": {short_message(message)}"
    return error(f"{what}: {detail}", status=status, reason=reason, detail=detail)


def from_urllib3(error: urllib3.exceptions.HTTPError, *, what: str, timeout: float) -> KubeError:
    cause: BaseException = error
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        cause = error.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        detail = "cannot connect to the API server"
    elif isinstance(cause, urllib3.exceptions.TimeoutError):
        detail = f"no answer within {timeout:g}s"
        return KubeTimeout(f"{what}: {detail}", detail=detail)
    else:
        detail = f"connection failed ({type(cause).__name__})"
    return KubeUnavailable(f"{what}: {detail}", detail=detail)


def short_message(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"
