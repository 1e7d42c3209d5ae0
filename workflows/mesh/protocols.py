"""The protocol Istio gives a Service port, decided the way Istio decides it.

Istio reads a Service port's protocol with `ConvertProtocol` (istio/istio
pkg/config/kube/conversion.go) and `protocol.Parse` (pkg/config/protocol/instance.go):

- `protocol: UDP` on the port is UDP, whatever the name says;
- `appProtocol`, when set, is read instead of the name (not as well as it): an unknown
  appProtocol makes the port unsupported even when its name is `http`. Kubernetes' standard
  names `kubernetes.io/h2c`, `kubernetes.io/ws` and `kubernetes.io/wss` are HTTP2, HTTP and HTTPS;
- a name starting with `grpc-web` (any case) is gRPC-Web; otherwise the part before the first
  `-` is parsed, case-insensitively (`HTTP-web` is HTTP, `httpx` is nothing);
- a port nothing names gets TCP when its number is well known (25, 53, 3306, 27017), and is
  otherwise unsupported: Istio sniffs the protocol from the first bytes.

The sidecar builds an HTTP filter chain for HTTP-family ports and a TCP one for the rest;
sniffed ports get both (`IsHTTPOrSniffed`). Authorization rules read that (see `authz`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Protocol(StrEnum):
    """protocol.Instance values a Service port can get."""

    HTTP = "HTTP"
    HTTP2 = "HTTP2"
    HTTP_PROXY = "HTTP_PROXY"
    HTTPS = "HTTPS"
    GRPC = "GRPC"
    GRPC_WEB = "GRPC-Web"
    TCP = "TCP"
    TLS = "TLS"
    UDP = "UDP"
    MONGO = "Mongo"
    REDIS = "Redis"
    MYSQL = "MySQL"
    UNSUPPORTED = "UnsupportedProtocol"  # Istio sniffs the protocol

    @property
    def is_http(self) -> bool:
        """Served by the sidecar's HTTP filter chain (protocol.Instance.IsHTTP)."""
        return self in _HTTP

    @property
    def is_sniffed(self) -> bool:
        """No declared protocol: Istio sniffs, and HTTP traffic goes to the HTTP chain."""
        return self is Protocol.UNSUPPORTED


_HTTP = frozenset(
    {Protocol.HTTP, Protocol.HTTP2, Protocol.HTTP_PROXY, Protocol.GRPC, Protocol.GRPC_WEB}
)
# protocol.Parse: lower-cased name -> protocol ("DoubleHBONE" never matches a lower-cased name).
_PARSE = {
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "grpc": Protocol.GRPC,
    "grpc-web": Protocol.GRPC_WEB,
    "http": Protocol.HTTP,
    "http_proxy": Protocol.HTTP_PROXY,
    "http2": Protocol.HTTP2,
    "https": Protocol.HTTPS,
    "tls": Protocol.TLS,
    "mongo": Protocol.MONGO,
    "redis": Protocol.REDIS,
    "mysql": Protocol.MYSQL,
}
# Kubernetes' standard appProtocol values (core/v1 ServicePort.appProtocol).
_STANDARD_APP_PROTOCOLS = {
    "kubernetes.io/h2c": Protocol.HTTP2,
    "kubernetes.io/ws": Protocol.HTTP,
    "kubernetes.io/wss": Protocol.HTTPS,
}
# wellKnownPorts in pkg/config/kube/conversion.go: SMTP, DNS, MySQL, MongoDB.
WELL_KNOWN_TCP_PORTS = frozenset({25, 53, 3306, 27017})
_GRPC_WEB = "grpc-web"


def parse(name: str) -> Protocol:
    """protocol.Parse: a protocol name, case-insensitive; anything else is UNSUPPORTED."""
    return _PARSE.get(name.lower(), Protocol.UNSUPPORTED)


def of_port(port: Mapping[str, object]) -> Protocol:
    """ConvertProtocol for one Service port (see the module docstring)."""
    if str(port.get("protocol") or "TCP") == "UDP":
        return Protocol.UDP
    name = str(port.get("name") or "")
    app_protocol = port.get("appProtocol")
    if app_protocol is not None:
        name = str(app_protocol)
        if name in _STANDARD_APP_PROTOCOLS:
            return _STANDARD_APP_PROTOCOLS[name]
    if name[: len(_GRPC_WEB)].lower() == _GRPC_WEB:
        return Protocol.GRPC_WEB
    found = parse(name.partition("-")[0])
    number = port.get("port")
    if found is Protocol.UNSUPPORTED and isinstance(number, int):
        if number in WELL_KNOWN_TCP_PORTS:
            return Protocol.TCP
    return found
