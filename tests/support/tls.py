"""A throw-away certificate authority for servers on 127.0.0.1 (made with the openssl CLI)."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoopbackCert:
    """A self-signed certificate for IP 127.0.0.1 and its key; the certificate is its own CA."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def loopback_cert(folder: Path) -> LoopbackCert:
    """Make a one-day certificate for 127.0.0.1 in `folder`."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return LoopbackCert(cert=cert, key=key)
