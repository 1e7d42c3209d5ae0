"""A Prometheus server of meshgate's own over series it wrote: OpenMetrics text -> TSDB -> server.

The demo shows real numbers and the integration tests query a real server the same way:
write OpenMetrics text (`OpenMetrics`), turn it into TSDB blocks with
`promtool tsdb create-blocks-from openmetrics`, and start Debian's `prometheus` on a free
loopback port over them. Blocks are kept whatever their age (retention 100 years), so a test
can load series of any date and query them with an explicit `time`.

Errors: PrometheusMissing when `prometheus` or `promtool` is not installed (the message says how
to install it); LocalServerError when building blocks or starting the server failed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_CONFIG = "global:\n  scrape_interval: 15s\n"  # no scrape jobs: the data is all imported
_READY_TIMEOUT = 30.0


class LocalServerError(Exception):
    """Building TSDB blocks or starting the local Prometheus failed; the message says which."""


class PrometheusMissing(LocalServerError):
    """Debian's `prometheus` package (prometheus and promtool) is not installed."""


def binaries() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`; PrometheusMissing naming what to install."""
    server, tool = shutil.which("prometheus"), shutil.which("promtool")
    if server is None or tool is None:
        missing = " and ".join(n for n, p in (("prometheus", server), ("promtool", tool)) if not p)
        raise PrometheusMissing(
            f"{missing} not found on PATH: install Debian's prometheus package "
            "(apt-get install --no-install-recommends prometheus; `make test` does it)"
        )
    return server, tool


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Labels = Mapping[str, str]
Point = tuple[float, float]  # (unix seconds, value)


@dataclass
class OpenMetrics:
    """OpenMetrics text built family by family (promtool wants each family's lines together)."""

    lines: list[str] = field(default_factory=list)

    def counter(self, name: str, series: Iterable[tuple[Labels, Sequence[Point]]]) -> None:
        """A counter family `name` (its samples are `name_total`)."""
        self.lines.append(f"# TYPE {name} counter")
        for labels, points in series:
            for t, v in points:
                self.lines.append(f"{name}_total{_labels(labels)} {v:.6f} {t:.3f}")

    def unknown(self, name: str, series: Iterable[tuple[Labels, Sequence[Point]]]) -> None:
        """A family of unknown type, samples named `name` as is (Envoy's counters have no
        `_total`)."""
        self.lines.append(f"# TYPE {name} unknown")
        for labels, points in series:
            for t, v in points:
                self.lines.append(f"{name}{_labels(labels)} {v:.6f} {t:.3f}")

    def histogram(
        self,
        name: str,
        series: Iterable[tuple[Labels, Sequence[tuple[float, Mapping[str, float], float]]]],
    ) -> None:
        """A histogram family: per point (time, cumulative count by `le`, sum)."""
        self.lines.append(f"# TYPE {name} histogram")
        for labels, points in series:
            for t, buckets, total in points:
                for le, count in buckets.items():
                    self.lines.append(
                        f"{name}_bucket{_labels({**labels, 'le': le})} {count:.6f} {t:.3f}"
                    )
                self.lines.append(f"{name}_count{_labels(labels)} {buckets['+Inf']:.6f} {t:.3f}")
                self.lines.append(f"{name}_sum{_labels(labels)} {total:.6f} {t:.3f}")

    def text(self) -> str:
        """The document, with the `# EOF` OpenMetrics requires."""
        return "\n".join([*self.lines, "# EOF"]) + "\n"


def _labels(labels: Labels) -> str:
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return "{" + inner + "}"


def build_blocks(*, openmetrics: str, data_dir: Path) -> None:
    """Write TSDB blocks for the series in `openmetrics` into `data_dir`."""
    _, promtool = binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}.om"
    source.write_text(openmetrics, "utf-8")
    done = subprocess.run(  # noqa: S603 - fixed argv, our own file
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    source.unlink()
    if done.returncode != 0:
        raise LocalServerError(f"promtool could not build blocks: {done.stderr.strip()[-400:]}")


@dataclass
class LocalPrometheus:
    """One `prometheus` process over a TSDB folder, on a loopback port."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalPrometheus:
        """Start the server and wait until it is ready; LocalServerError if it does not."""
        server, _ = binaries()
        config = self.data_dir.parent / f"{self.data_dir.name}-prometheus.yml"
        config.write_text(_CONFIG, "utf-8")
        log = (self.data_dir.parent / f"{self.data_dir.name}-prometheus.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                server,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=100y",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LocalServerError(f"prometheus did not become ready on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
