"""Issue 13, point 4: SIGTERM stops a real `meshgate serve` cleanly, with requests in flight.

A `meshgate serve --demo` process on its embedded redis-server, talking to the Slack stand-in
(which answers each call in 1 s, so work is still running when the signal comes). Commands
keep arriving while SIGTERM is sent: every one that was acked is answered before the process
exits 0, and no redis-server (or anything else) it started is left running.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support import slack_requests
from tests.support.serve_process import free_port, healthy, pids_under, serve_env
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import SECRET, eventually

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
COMMANDS = 8


def test_sigterm_answers_every_acked_command_and_leaves_nothing_running(
    slack_api: SlackWebStandIn, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = serve_env(tmp_path, slack_api, MESHGATE_SLACK_SIGNING_SECRET=SECRET)
    proc = subprocess.Popen(  # noqa: S603 - our own entry point
        [MESHGATE, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        eventually(lambda: healthy(base), timeout=30, what="meshgate serve to listen")
        assert pids_under(tmp_path), "the embedded redis-server was not started"
        slack_api.answer_slowly(1.0)
        acked: list[str] = []
        refused: list[str] = []
        lock = threading.Lock()
        first_acks = threading.Semaphore(0)

        def send(i: int) -> None:
            user = f"W{200 + i}"
            body = slack_requests.slash_command_body(text="help", user_id=user)
            try:
                status, _, _ = slack_requests.post(
                    base + "/slack/events", body, secret=SECRET, content_type=slack_requests.FORM
                )
            except OSError:
                status = 0
            with lock:
                (acked if status == 200 else refused).append(user)
            first_acks.release()

        senders = [threading.Thread(target=send, args=(i,)) for i in range(COMMANDS)]
        for t in senders[: COMMANDS // 2]:
            t.start()
        for _ in range(COMMANDS // 2):
            assert first_acks.acquire(timeout=10)
        for t in senders[COMMANDS // 2 :]:
            t.start()  # these race the signal: acked and answered, or refused
        proc.send_signal(signal.SIGTERM)
        for t in senders:
            t.join(timeout=30)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(
        f"\nSIGTERM with work in flight: {len(acked)} acked, {len(refused)} refused; "
        f"exit {proc.returncode}"
    )
    assert proc.returncode == 0, output[-2000:]
    assert len(acked) >= COMMANDS // 2
    answered = sorted(str(c["user"]) for c in slack_api.calls_to("chat.postEphemeral"))
    assert answered == sorted(acked), "an acked command was not answered"
    assert pids_under(tmp_path) == []
    assert "Traceback" not in output, output[-2000:]
