"""A PNG chart of one service over a window: request rate, success rate, p99, mTLS share.

matplotlib with the Agg backend (no display, thread-safe enough for one figure per call: the
object-oriented API, never pyplot's global state). Phase changes are vertical lines with the
phase's name. Gaps (no data) stay gaps; a panel with no data at all says so instead of
drawing an empty axis that reads like zero.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from workflows.gates.metrics_snapshot import MetricsHistory

PANELS = (
    ("request_rate", "Request rate (req/s)", 1.0),
    ("success_rate", "Success rate (%)", 100.0),
    ("latency_p99_ms", "p99 latency (ms)", 1.0),
    ("mtls_share", "mTLS share (%)", 100.0),
)
_DPI = 100


@dataclass(frozen=True)
class PhaseMark:
    """A phase change to mark on the chart."""

    at: datetime
    label: str


def figure(history: MetricsHistory, *, marks: Sequence[PhaseMark] = ()) -> Figure:
    """The four-panel figure (kept apart from `png` so tests can read its panels)."""
    fig = Figure(figsize=(9, 8), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    fig.suptitle(f"{history.service}: {_span(history)}")
    for ax, (name, title, scale) in zip(axes, PANELS, strict=True):
        values: tuple[float | None, ...] = getattr(history, name)
        ys = [float("nan") if v is None else v * scale for v in values]
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(True, alpha=0.3)
        if history.times and any(v is not None for v in values):
            ax.plot(list(history.times), ys, linewidth=1.5)
        else:
            why = history.unavailable.get(name)
            ax.text(
                0.5,
                0.5,
                f"unavailable: {why}" if why else "no data",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="grey",
            )
        for mark in marks:
            ax.axvline(mark.at, color="tab:red", linestyle="--", linewidth=1, label=mark.label)
    for mark in marks:
        axes[0].annotate(
            mark.label,
            xy=(mark.at, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            color="tab:red",
            fontsize=8,
        )
    axes[-1].xaxis.set_major_formatter(DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    axes[-1].set_xlabel("UTC")
    return fig


def png(history: MetricsHistory, *, marks: Sequence[PhaseMark] = ()) -> bytes:
    """The chart as PNG bytes."""
    buffer = io.BytesIO()
    figure(history, marks=marks).savefig(buffer, format="png")
    return buffer.getvalue()


def _span(history: MetricsHistory) -> str:
    if not history.times:
        return "no points"
    first, last = history.times[0], history.times[-1]
    return f"{first:%Y-%m-%d %H:%M} to {last:%H:%M} UTC"
