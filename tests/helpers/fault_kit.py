"""Fault-test helpers: a bot backend that can go down, load senders that keep a ledger of what
each update's request got, process-tree and memory readers, and reads of an appliance's DB."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from core.telegram import SECRET_HEADER
from tests.helpers.support import SECRET, chat_of, make_update, wait_until

HEADERS = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}


# -- the bot behind the appliance -------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    update_id: int
    chat_id: int | None
    status: int  # what the backend answered


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a forwarder killed mid-request hangs up; that is the point of these tests


class BotBackend:
    """The bot's webhook endpoint. Modes: "up" (200), "failing" (503, a crashing bot behind a
    proxy) and "refusing" (nothing listens; open keep-alive connections are dropped)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.mode = "up"
        self.port = 0
        self._lock = threading.Lock()
        self._server: QuietServer | None = None
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot-hook"

    def set_mode(self, mode: str) -> None:
        assert mode in ("up", "failing", "refusing"), mode
        self.mode = mode
        if mode == "refusing":
            self.close()
        elif self._server is None:
            self._listen()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def processed(self) -> list[Delivery]:
        """Deliveries the bot acknowledged (2xx), in arrival order."""
        with self._lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def processed_ids(self) -> Counter:
        return Counter(d.update_id for d in self.processed())

    def _listen(self) -> None:
        self._server = QuietServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if backend.mode == "refusing":
                    self.close_connection = True
                    return
                status = 200 if backend.mode == "up" else 503
                update = json.loads(body)
                with backend._lock:
                    backend.deliveries.append(
                        Delivery(update["update_id"], chat_of(update), status)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler


# -- Telegram's side: senders and what they were told -----------------------------------------
@dataclass
class Ledger:
    """Which update_ids got a 2xx and which got anything else (status or connection error)."""

    acked: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    sent_by_chat: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, chat_id: int, update_id: int, outcome: int | str) -> None:
        with self.lock:
            self.sent_by_chat[chat_id].append(update_id)
            if isinstance(outcome, int) and 200 <= outcome < 300:
                self.acked.add(update_id)
            else:
                self.failed[update_id] = str(outcome)

    def sent(self) -> set[int]:
        with self.lock:
            return self.acked | set(self.failed)


class Load:
    """One thread per chat, each sending fresh updates of its chat one at a time (as Telegram
    does), until stopped. update_ids are unique and increase within each chat."""

    def __init__(self, base_url: str, chats: int, per_chat_rate: float | None = None) -> None:
        self.base_url = base_url
        self.chat_ids = [9000 + n for n in range(chats)]
        self.pause = 1.0 / per_chat_rate if per_chat_rate else 0.0
        self.ledger = Ledger()
        self._ids = itertools.count(100_000)
        self._ids_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(c,), daemon=True) for c in self.chat_ids
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a sender thread did not stop"

    def wait_acked(self, count: int, timeout: float = 30.0) -> None:
        wait_until(lambda: len(self.ledger.acked) >= count, timeout=timeout)

    def _run(self, chat_id: int) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            with self._ids_lock:
                update_id = next(self._ids)
            body = json.dumps(make_update(update_id, chat_id=chat_id))
            try:
                outcome: int | str = session.post(
                    f"{self.base_url}/webhook/default", data=body, headers=HEADERS, timeout=10
                ).status_code
            except requests.RequestException as exc:
                outcome = type(exc).__name__
                time.sleep(0.02)  # the appliance is down: do not spin on refused connections
            self.ledger.record(chat_id, update_id, outcome)
            if self.pause:
                self._stop.wait(self.pause)
        session.close()


# -- the appliance's processes ----------------------------------------------------------------
@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgrp: int
    state: str
    cmdline: str


def processes() -> list[Proc]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        # The command name (field 2) may hold spaces and parentheses: split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        found.append(Proc(int(entry.name), int(fields[1]), int(fields[2]), fields[0], cmdline))
    return found


def children(pid: int) -> list[Proc]:
    return [p for p in processes() if p.ppid == pid and p.state != "Z"]


def gunicorn_workers(serve_pid: int) -> list[int]:
    """PIDs of the gunicorn workers under a `python app.py serve` (children of its master)."""
    masters = [p for p in children(serve_pid) if "gunicorn" in p.cmdline]
    return sorted(w.pid for m in masters for w in children(m.pid))


def live_group_members(pgrp: int) -> list[Proc]:
    return [p for p in processes() if p.pgrp == pgrp and p.state != "Z"]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


# -- the appliance's store, read directly ------------------------------------------------------
def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored(db: Path) -> dict[int, str]:
    """update_id -> delivery state of every stored update of the default bot."""
    return dict(query(db, "SELECT update_id, state FROM updates WHERE bot = 'default'"))


def stored_body(db: Path, update_id: int) -> bytes | None:
    rows = query(
        db, "SELECT body FROM updates WHERE bot = 'default' AND update_id = ?", (update_id,)
    )
    return bytes(rows[0][0]) if rows else None


def count_stored(db: Path) -> int:
    return query(db, "SELECT COUNT(*) FROM updates")[0][0]


def first_delivery_order(deliveries: list[Delivery]) -> dict[int | None, list[int]]:
    """Per chat, update_ids in the order the bot first acknowledged them."""
    order: dict[int | None, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for d in deliveries:
        if d.update_id not in seen:
            seen.add(d.update_id)
            order[d.chat_id].append(d.update_id)
    return order


def is_increasing(ids: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(ids))
