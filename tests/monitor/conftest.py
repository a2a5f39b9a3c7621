"""Monitor fixtures: a store, and real servers on free ports (HTTP receiver,
Alertmanager, SMTP). Every server is stopped at teardown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from core.storage import open_store
from tests.helpers.monitor_kit import Receiver
from tests.helpers.support import free_port, stop_process, wait_until


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(str(tmp_path / "monitor.db"))
    yield store
    store.close()


@pytest.fixture
def alert_webhook() -> Iterator[Receiver]:
    port = free_port()
    state = Receiver(f"http://127.0.0.1:{port}/hook")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.received.append(
                    {"path": self.path, "json": json.loads(body or b"null"), "status": status}
                )
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager (Debian prometheus-alertmanager) on a free port; its base URL."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "install the Debian package prometheus-alertmanager"
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    port = free_port()
    with open(tmp_path / "alertmanager.log", "wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
        try:
            return requests.get(base + "/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=15)
        yield base
    finally:
        stop_process(process)


@pytest.fixture
def env(monkeypatch, tmp_path, sim, token):
    """A clean TGWEBHOOK_* environment for the CLI; returns a setter for more variables."""
    for name in list(os.environ):
        if name.startswith("TGWEBHOOK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    values = {
        "DB": str(tmp_path / "data" / "tgwebhook.db"),
        "BOT_TOKEN": token,
        "API_BASE": sim.base_url,
        "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
    }

    def set_env(**more: str) -> dict:
        values.update({k.upper(): str(v) for k, v in more.items()})
        for name, value in values.items():
            monkeypatch.setenv("TGWEBHOOK_" + name, value)
        return values

    set_env()
    return set_env
