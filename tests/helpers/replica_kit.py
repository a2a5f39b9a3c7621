"""Helpers for tests of several replicas on one store: a recording HTTP endpoint (alert
webhook or bot backend) and monitor processes started with a PostgreSQL store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers.support import ROOT, SECRET, free_port


@dataclass
class Recorder:
    """A local HTTP server recording (arrival time, JSON body) of every POST; answers 200."""

    port: int = field(default_factory=free_port)
    received: list[tuple[float, dict]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def bodies(self) -> list[dict]:
        with self._lock:
            return [body for _, body in self.received]

    def start(self) -> Recorder:
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a SIGKILLed replica)
                    self.close_connection = True
                    return
                with recorder._lock:
                    recorder.received.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start_monitor(db_url: str, log: Path, **settings: object) -> subprocess.Popen:
    """`python -m monitor` on `db_url`; settings as TGWEBHOOK_<NAME> values."""
    env = {**os.environ, "TGWEBHOOK_DB": db_url, "TGWEBHOOK_SECRET_TOKEN": SECRET}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update({f"TGWEBHOOK_{name.upper()}": str(value) for name, value in settings.items()})
    with open(log, "wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
