"""Recovery time after the embedded redis-server of `meshgate serve` is killed (kill -9).

Runs a real `meshgate serve --demo` process against the Slack Web API stand-in, starts a
rollout, then, round after round, kills its redis-server with SIGKILL and sends signed
`/rollout status` commands over HTTP until one is answered with the rollout (not
`unavailable`): the time from the kill to that answer is the recovery time. Rounds are
SETTLE_S and a random fraction of the watchdog's interval apart.

The baseline, measured in the same run, is the remedy there was before the watchdog: restart
meshgate. Each baseline round kills the redis-server, stops the serve process (SIGTERM), starts
a new one on the same folder at once (as a kubelet would after a failed probe, with no probe
delay counted) and measures the same kill-to-answer time.

    .venv/bin/python bench/redis_recovery.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.serve_process import ServeProcess  # noqa: E402
from tests.support.slack_api import SlackWebStandIn  # noqa: E402

SVC = "shop/productpage"
# Between rounds: a kill within milliseconds of a restart lands while the watchdog is still
# confirming the new server, and counts (rightly) as a failed start, with its backoff; real
# crashes do not come that close together.
SETTLE_S = 1.5
# ...plus a random part of the watchdog's 1 s interval, so kills do not all land at the same
# point of its cycle (a fixed pause measures one phase only). Seeded: runs compare.
_phase = random.Random(13)  # noqa: S311 - spacing, not security


def _answered(served: ServeProcess, *, timeout: float = 60.0) -> float:
    """Send `status` until it is answered with the rollout; the monotonic time it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply, _ = served.ask(f"status {SVC}")
        if not reply.startswith("unavailable"):
            return time.monotonic()
    raise SystemExit(f"no successful command within {timeout} s")


def supervised(slack: SlackWebStandIn, state: Path, rounds: int) -> list[float]:
    """Seconds from kill -9 to the first successful command, meshgate left running."""
    times = []
    with ServeProcess(slack, state) as served:
        for _ in range(rounds):
            time.sleep(SETTLE_S + _phase.random())
            os.kill(served.redis_pid(), signal.SIGKILL)
            killed = time.monotonic()
            times.append(_answered(served) - killed)
    return times


def restarted(slack: SlackWebStandIn, state: Path, rounds: int) -> list[float]:
    """The same, when meshgate itself is restarted right after the kill (the old remedy)."""
    times = []
    for _ in range(rounds):
        served = ServeProcess(slack, state).__enter__()
        time.sleep(SETTLE_S + _phase.random())
        os.kill(served.redis_pid(), signal.SIGKILL)
        killed = time.monotonic()
        served.__exit__(None, None, None)  # SIGTERM, and wait for it to exit
        with ServeProcess(slack, state) as again:
            answered = _answered(again)
        times.append(answered - killed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with SlackWebStandIn() as slack, tempfile.TemporaryDirectory(prefix="mg-") as folder:
        state = Path(folder)
        with ServeProcess(slack, state) as served:
            served.command(f"start {SVC}")
            _answered(served)
        watched = supervised(slack, state, args.rounds)
        baseline = restarted(slack, state, args.rounds)
    for name, times in (("watchdog (meshgate keeps running)", watched),
                        ("baseline: meshgate restarted at once", baseline)):  # fmt: skip
        ms = sorted(t * 1000 for t in times)
        print(
            f"{name}: kill -9 to first successful command over {len(ms)} rounds: "
            f"median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
        )


if __name__ == "__main__":
    main()
