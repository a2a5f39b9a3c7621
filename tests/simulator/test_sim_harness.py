"""The harness and the CLI: start, serve, stop cleanly (no threads, no sockets left)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from simulator import make_token, start_simulator
from simulator.admin_client import AdminClient, AdminError

ROOT = Path(__file__).resolve().parents[2]


def open_sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_stop_leaves_no_threads_or_sockets(make_receiver):
    receiver = make_receiver()
    threads, sockets = threading.active_count(), open_sockets()
    token = make_token(1)
    sim = start_simulator(time_factor=0.01)
    set_hook = f"{sim.api_url(token, 'setWebhook')}?url={receiver.url}"
    assert get_json(set_hook)["ok"] is True
    sim.admin.inject(token, text="hi", chat_id=5)
    receiver.wait_for(1)
    sim.stop()
    sim.stop()  # idempotent
    # <=: a handler thread left over from an earlier test may end meanwhile.
    sim.admin.wait_for(lambda: threading.active_count() <= threads, timeout=2)
    # The receiver closes its end of the keep-alive connection when it sees EOF.
    sim.admin.wait_for(lambda: open_sockets() <= sockets, timeout=2)
    assert refuses(sim.port)


def test_context_manager_serves_the_bot_api_at_base_url():
    with start_simulator() as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        assert get_json(f"{sim.base_url}/bot{make_token(3)}/getMe")["result"]["id"] == 7_000_000_003
    assert refuses(sim.port)


def test_admin_reset_forgets_bots_and_faults(sim, token):
    sim.admin.inject(token, text="hi", chat_id=1)
    sim.admin.add_fault("getMe", error_code=500)
    sim.admin.reset()
    assert sim.admin.health()["bots"] == 0 and sim.admin.faults() == []
    assert sim.admin.webhook_info(token)["pending_update_count"] == 0


def test_admin_refuses_bad_requests_with_readable_errors(sim, token):
    with pytest.raises(AdminError, match="malformed token"):
        sim.admin.inject("not-a-token", text="x")
    with pytest.raises(AdminError, match="update_id is assigned"):
        sim.admin.inject(token, {"update_id": 1, "message": {}})
    with pytest.raises(AdminError, match="was not delivered"):
        sim.admin.redeliver(token, 12345)
    with pytest.raises(AdminError, match="rate must be"):
        sim.admin.start_traffic(token, rate=0)


def test_admin_can_restart_update_ids_and_set_sync_errors(sim, api, token):
    sim.admin.set_next_update_id(token, 5)
    assert sim.admin.inject(token, text="x", chat_id=1)[0]["update_id"] == 5
    sim.admin.set_sync_error(token, 1_700_000_000)
    assert api("getWebhookInfo")["result"]["last_synchronization_error_date"] == 1_700_000_000


def test_full_update_objects_of_any_type_are_injected_as_given(sim, api, token):
    body = {"id": 1, "title": "future type"}
    (update,) = sim.admin.inject(token, {"subscription": body})
    assert update == {"update_id": update["update_id"], "subscription": body}
    assert api("getUpdates")["result"] == [update]


def test_cli_serves_with_traffic_and_stops_on_sigterm():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = make_token(7)
    cmd = [sys.executable, "-m", "simulator", "--port", str(port), "--local"]
    cmd += ["--time-factor", "0.01", "--traffic", "50", "--chats", "3", "--token", token]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        admin = AdminClient(f"http://127.0.0.1:{port}", timeout=2)
        admin.wait_for(lambda: not refuses(port), timeout=15)
        admin.wait_for(lambda: admin.webhook_info(token)["pending_update_count"] > 3)
        assert admin.webhook_info(token)["url"] == ""  # no webhook yet: traffic waits queued
        assert [t["token"] for t in admin.traffic()] == [token]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
