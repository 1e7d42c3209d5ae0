"""`meshgate serve` in Socket Mode still answers the probes and Prometheus, and stops on SIGTERM.

A real `meshgate serve --demo` process with an app token, on its embedded redis-server, dials
the Socket Mode stand-in through the Slack Web API stand-in's apps.connections.open. Over HTTP
on --port it must answer /healthz, /readyz (which also says whether the WebSocket is up) and
/metrics (which counts the command pushed over the socket); /slack/events is not served, since
Slack sends nothing there in this mode. SIGTERM stops it with exit 0 and nothing left running.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support import slack_requests
from tests.support.serve_process import free_port, pids_under, serve_env
from tests.support.slack_api import SlackWebStandIn
from tests.support.slack_app import TOKEN, eventually
from tests.support.socket_mode import SocketModeServer, slash_commands_envelope

MESHGATE = str(Path(sys.executable).with_name("meshgate"))
STARTED = ("meshgate_commands_total", (("outcome", "ok"), ("verb", "start")))


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def answers(url: str) -> bool:
    try:
        get(url)
    except OSError:
        return False
    return True


def started_count(base: str) -> float:
    status, text = get(base + "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (s.name, tuple(sorted(s.labels.items()))) == STARTED:
                return float(s.value)
    return 0.0


def test_socket_mode_serves_the_probes_and_metrics_and_stops_cleanly_on_sigterm(
    slack_api: SlackWebStandIn, socket_mode_server: SocketModeServer, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = serve_env(tmp_path, slack_api, MESHGATE_SLACK_APP_TOKEN="xapp-1-test")
    proc = subprocess.Popen(  # noqa: S603 - our own entry point
        [MESHGATE, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        eventually(lambda: answers(base + "/healthz"), timeout=30, what="the ops port to listen")
        socket_mode_server.wait_for_connection(timeout=30)
        assert get(base + "/healthz") == (200, "ok\n")
        ready = eventually(
            lambda: (r := get(base + "/readyz"))[0] == 200 and r, what="ready", timeout=20
        )
        assert "socket_mode" in ready[1]
        assert get(base + "/slack/events")[0] == 404  # Slack does not call us in Socket Mode

        before = started_count(base)
        fields = slack_requests.slash_command_fields(text="start shop/productpage", user_id="UA")
        ack = socket_mode_server.send(slash_commands_envelope(fields, envelope_id="env-1"))
        assert ack["envelope_id"] == "env-1"
        eventually(lambda: started_count(base) == before + 1, what="the command counted")

        socket_mode_server.stop()  # Slack goes away: this replica cannot take commands
        down = eventually(
            lambda: (r := get(base + "/readyz"))[0] == 503 and r, what="not ready", timeout=20
        )
        assert "socket_mode" in down[1]
        assert get(base + "/healthz")[0] == 200  # the process is fine: no restart wanted

        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert pids_under(tmp_path) == []  # the embedded redis-server stopped with it
    assert not answers(base + "/healthz")


def test_a_refused_app_token_is_one_clear_line_and_exit_1(
    slack_api: SlackWebStandIn, tmp_path: Path
) -> None:
    slack_api.accepted_tokens = frozenset({TOKEN})  # the app token was revoked
    env = serve_env(tmp_path, slack_api, MESHGATE_SLACK_APP_TOKEN="xapp-1-revoked-secret")
    done = subprocess.run(  # noqa: S603 - our own entry point
        [MESHGATE, "serve", "--demo", "--host", "127.0.0.1", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot open the Socket Mode connection (invalid_auth)" in done.stderr
    assert "MESHGATE_SLACK_APP_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert "revoked-secret" not in done.stderr + done.stdout
    assert pids_under(tmp_path) == []
