"""Shared test helpers (plain functions and values), importable from every test folder as
`from support import ...`; the fixtures that use them live in tests/conftest.py."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret_TOKEN-123"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port below the kernel's ephemeral range, never handed out twice in one run.

    A port from bind(0) is ephemeral: until a child binds it (seconds later, for gunicorn or
    PostgreSQL) any outgoing connection may take it as its source port, and the child fails.
    """
    low = ephemeral_port_floor()
    for _ in range(1000):
        port = random.randint(max(1024, low - 12000), low - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port below the ephemeral range ({low})")


def ephemeral_port_floor() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    return low if low > 4096 else 32768


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition not met",
):
    """Poll until predicate() is truthy (and return it) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(interval)


def make_update(update_id: int = 1, kind: str = "message", **over: object) -> dict:
    """A realistic update of `kind`; keyword arguments override fields of its inner object."""
    user = {"id": 1111, "is_bot": False, "first_name": "Ada", "username": "ada"}
    chat = {"id": over.pop("chat_id", 1111), "type": "private", "first_name": "Ada"}
    message = {
        "message_id": update_id,
        "date": 1700000000,
        "chat": chat,
        "from": user,
        "text": "hi",
    }
    bodies = {
        "message": message,
        "edited_message": {**message, "edit_date": 1700000100},
        "callback_query": {
            "id": "4382",
            "from": user,
            "chat_instance": "-42",
            "data": "yes",
            "message": message,
        },
        "inline_query": {"id": "9", "from": user, "query": "cats", "offset": ""},
    }
    return {"update_id": update_id, kind: {**bodies[kind], **over}}


@dataclass
class Served:
    """A running `python app.py serve` (or any app.py command) with its own DB and port."""

    process: subprocess.Popen
    base_url: str
    db: Path
    log: Path
    env: dict = field(default_factory=dict)

    def stop(self, timeout: float = 45.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def is_ready(served: Served, ops_token: str | None = None) -> bool:
    if served.process.poll() is not None:
        raise AssertionError(f"appliance exited early:\n{served.output()[-3000:]}")
    headers = {"Authorization": f"Bearer {ops_token}"} if ops_token else {}
    try:
        response = requests.get(served.base_url + "/readyz", headers=headers, timeout=1)
    except requests.RequestException:
        return False
    return response.status_code == 200


def ops_url(served: Served) -> str:
    """The ops listener's base URL: the public one unless TGWEBHOOK_OPS_LISTEN says otherwise."""
    address = served.env.get("TGWEBHOOK_OPS_LISTEN")
    if not address:
        return served.base_url
    host, _, port = address.rpartition(":")
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a /metrics page, keyed (name, sorted label items)."""
    text = requests.get(base_url + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def chat_of(update: dict) -> int | None:
    for value in update.values():
        if isinstance(value, dict) and "chat" in value:
            return value["chat"]["id"]
    return None


def fill(path: Path) -> None:
    with open(path, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass  # ENOSPC: the filesystem is full


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
