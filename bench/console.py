"""Console benchmark: what one overview page and one live refresh (`/api/overview`) cost the
server with 1,000,000 stored updates and 10,000 dead letters (issue 16: each under 50 ms).

A real `python app.py serve` on the prefilled store, asked one request at a time over one
keep-alive loopback connection, as the console's page does. The time a client sees includes
HTTP, the ASGI bridge and the worker hand-off; `/livez` on the same connection (no store, no
template) measures that fixed part, so observed minus its median is the server's own work.
50 requests per row after a warm-up; median and p99 (nearest rank: of 50, the slowest).

    python bench/console.py                                              # the issue's sizes
    python bench/console.py --updates 20000 --dead 200 --requests 10 --out /tmp/x   # smoke
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BASELINE = "/livez"
PATHS = (
    (BASELINE, "baseline: HTTP and dispatch only"),
    ("/", "overview page"),
    ("/api/overview", "live refresh (JSON)"),
    ("/dead-letters", "dead letters, first page"),
    ("/api/dead-letters/count", "dead letters, dry-run count"),
)
CHATS = 5000
DAY = 86400.0
DEAD_BODY = b'{"update_id": 1, "message": {"message_id": 1, "date": 1700000000, "text": "x"}}'

# One statement: every update row from a counter, spread over the last day; every
# `every`-th one a dead letter that keeps its body, the rest delivered with bodies purged.
PREFILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, body, state,
                     attempts, delivered_at, last_error)
SELECT 'default', i, 'message', 'c' || (i % :chats), :start + i * :step, 1,
       CASE WHEN i % :every = 0 THEN :body END,
       CASE WHEN i % :every = 0 THEN 'dead' ELSE 'delivered' END,
       CASE WHEN i % :every = 0 THEN 25 ELSE 1 END,
       CASE WHEN i % :every = 0 THEN NULL ELSE :start + i * :step + 0.05 END,
       CASE WHEN i % :every = 0 THEN 'HTTP 500: backend failed' END
FROM n
"""


def settings_env(db: Path) -> dict[str, str]:
    return {
        "TGWEBHOOK_DB": str(db),
        "TGWEBHOOK_SECRET_TOKEN": "bench-secret-token",
        "TGWEBHOOK_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
        "TGWEBHOOK_API_BASE": "http://127.0.0.1:9",  # nothing there: polls fail, quickly
        "TGWEBHOOK_FORWARD_URL": "http://127.0.0.1:9/bot",
    }


def prefill(db: Path, updates: int, dead: int) -> None:
    """The store a busy bot has after a day: `updates` rows, `dead` of them dead letters, a
    day of per-minute chart samples and of 15-second getWebhookInfo observations."""
    sys.path.insert(0, str(ROOT))
    from core.storage import open_store

    open_store(str(db)).close()  # the schema, indexes included
    now = time.time()
    every = max(1, updates // max(dead, 1))
    samples = [("default", now - 60 * k, 60, 60, dead, 0, 0.0, 0.02) for k in range(2 * 1440)]
    observations = [("default", now - 15 * k, 1, 0) for k in range(5760)]
    with sqlite3.connect(db) as conn:
        conn.execute(
            PREFILL,
            {
                "count": updates,
                "chats": CHATS,
                "start": now - DAY,
                "step": DAY / updates,
                "every": every,
                "body": DEAD_BODY,
            },
        )
        conn.executemany(
            "INSERT INTO samples (bot, at, received, delivered, dead, queue_depth, oldest_age,"
            " lag_p99) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            samples,
        )
        conn.executemany(
            "INSERT INTO observations (bot, observed_at, ok, pending_update_count)"
            " VALUES (?, ?, ?, ?)",
            observations,
        )
    store = open_store(str(db))
    try:  # what the pages will count, as the store counts it
        stored, stats = store.count_updates(), store.queue_stats(["default"], now)[0]
    finally:
        store.close()
    assert (stored, stats.dead_letters) == (updates, updates // every), (stored, stats)


def timed(get: Callable[[str], int], path: str, count: int) -> list[float]:
    """Milliseconds of `count` requests of `path` after three unmeasured ones."""
    for _ in range(3):
        assert get(path) == 200, path
    spent = []
    for _ in range(count):
        started = time.perf_counter()
        status = get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status)
    return spent


def over_http(db: Path, count: int, workdir: Path) -> dict[str, list[float]]:
    port = free_port()
    env = {
        **os.environ,
        **settings_env(db),
        "TGWEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "TGWEBHOOK_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(workdir / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    base, session = f"http://127.0.0.1:{port}", requests.Session()
    try:
        wait_ready(base, process)
        return {
            path: timed(lambda p: session.get(base + p, timeout=30).status_code, path, count)
            for path, _ in PATHS
        }
    finally:
        process.terminate()
        process.wait(60)


def wait_ready(base: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("serve exited; see serve.log")
        try:
            if requests.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"serve not ready within {timeout} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def markdown(args: argparse.Namespace, spent: dict, prefill_s: float) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Console: server time with a full store",
        "",
        f"`python bench/console.py` at {commit}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
        f" UTC on this machine (2 cores; 1-minute load average {os.getloadavg()[0]:.2f} at the"
        f" end, other sessions' work included). Store: SQLite with {args.updates:,}"
        f" updates (the last day), {args.dead:,} of them dead letters, 48 h of chart samples,"
        f" a day of getWebhookInfo observations; prefilled in {prefill_s:.0f} s.",
        f"`python app.py serve` (2 workers), {args.requests} requests per row after 3"
        " unmeasured, one at a time on one keep-alive connection; p99 is the nearest rank (of"
        f" {args.requests}, the slowest). Server = observed minus the `{BASELINE}` median.",
        "",
        "| request | what | observed median (ms) | observed p99 (ms) | server median (ms) |"
        " server p99 (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    base = statistics.median(spent[BASELINE])
    for path, what in PATHS:
        median, worst = statistics.median(spent[path]), p99(spent[path])
        server = "— | —" if path == BASELINE else f"{median - base:.1f} | {worst - base:.1f}"
        lines.append(f"| `GET {path}` | {what} | {median:.1f} | {worst:.1f} | {server} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--dead", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where console.md goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "console.db"
        started = time.monotonic()
        prefill(db, args.updates, args.dead)
        prefill_s = time.monotonic() - started
        print(f"prefilled {args.updates} updates in {prefill_s:.0f} s", flush=True)
        spent = over_http(db, args.requests, Path(tmp))
    table = markdown(args, spent, prefill_s)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "console.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
