"""Where the pinned reference data lives (tests/reference, copied from the shared folder)."""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
ISTIO = REFERENCE / "istio"
SLACK = REFERENCE / "slack"
