"""The rig of bench/e2e.py: the processes under test (appliance, bots, loaders) and how each is
measured from outside (/proc, the store's own figures, the bots' ledgers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from e2e_report import WARM_UP_TIMEOUT
from ingest import ROOT, SECRET, Target, free_port, tgwebhook_target, tree_rss_bytes

AGENTS = str(ROOT / "bench" / "e2e_agents.py")
# The agents import core (the secret header's one definition) from the repository root.
AGENT_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class Bot:
    """A bot process from e2e_agents.py; its ledger is read over HTTP."""

    def __init__(self, kind: str) -> None:
        self.kind, self.port = kind, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, AGENTS, "bot" if kind == "fast" else kind, str(self.port), SECRET]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=AGENT_ENV, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.count()
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{kind} bot did not start")

    def count(self) -> int:
        return requests.get(f"{self.url}/received?count=1", timeout=5).json()

    def received(self) -> list[tuple[int, float]]:
        return [tuple(r) for r in requests.get(f"{self.url}/received", timeout=60).json()]

    def reset(self) -> None:
        requests.post(f"{self.url}/reset", timeout=5)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


def appliance(workdir: Path, bot: Bot | None) -> Target:
    """The whole `serve` as bench/ingest.py starts it, forwarding to `bot` (None: store-only)."""
    target = tgwebhook_target(workdir, str(workdir / "e2e.db"))
    target.env["TGWEBHOOK_FORWARD_URL"] = f"{bot.url}/hook" if bot else ""
    target.env["TGWEBHOOK_FORWARD_SECRET_TOKEN"] = SECRET
    return target


def forwarder_pid(serve_pid: int) -> int | None:
    """The `python -m forwarder` child of serve (None in store-only mode or if not found)."""
    try:
        with open(f"/proc/{serve_pid}/task/{serve_pid}/children") as handle:
            children = [int(p) for p in handle.read().split()]
    except FileNotFoundError:
        return None
    for pid in children:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"forwarder" in argv:
            return pid
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """Samples the RSS of a process tree every 250 ms while in a `with` block."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self) -> PeakRss:
        if self.pid:
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.wait(0.25):
            self.peak = max(self.peak, tree_rss_bytes(self.pid))

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


def run_loader(url: str, rate: float, duration: float, chats: int, base: int, tmp: Path) -> dict:
    out = tmp / f"load-{base}.json"
    argv = [sys.executable, AGENTS, "load", url, SECRET, str(rate), str(duration)]
    subprocess.run(
        [*argv, str(chats), str(base), str(out)],
        cwd=ROOT,
        env=AGENT_ENV,
        check=True,
        timeout=duration + 120,
    )
    rows = json.loads(out.read_text())
    window = (min(r[1] for r in rows), max(max(r[1], r[2]) for r in rows))
    acked = {r[0]: r[2] for r in rows if r[3] == 200}
    return {"sent": {r[0]: r[1] for r in rows}, "acked": acked, "window": window}


def run_wrk(url: str, duration: float, chats: int, base: int, connections: int) -> dict:
    env = {**os.environ, "SECRET": SECRET, "ID_BASE": str(base), "CHATS": str(chats)}
    argv = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
    argv += ["--timeout", "10s", "-s", str(ROOT / "bench" / "e2e.lua"), url]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(line.removeprefix("RESULT "))


WARM_UP = 20


def store_figures(db: Path) -> tuple[int, int]:
    """(queue depth, updates stored) as the appliance's own collector reads them."""
    from core.storage import open_store

    store = open_store(str(db))
    try:
        depth = sum(s.depth for s in store.queue_stats(["default"], time.time()))
        return depth, store.count_updates("default") - WARM_UP
    finally:
        store.close()


def warm_up(url: str, bot: Bot | None, base: int) -> float:
    """A few updates through the whole path, so start-up is not measured; returns its time."""
    if bot:
        bot.reset()
    from core.telegram import SECRET_HEADER

    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    for uid in range(base, base + WARM_UP):
        body = json.dumps(
            {
                "update_id": uid,
                "message": {
                    "message_id": uid,
                    "date": 0,
                    "chat": {"id": 7, "type": "private"},
                    "text": "warm",
                },
            }
        )
        requests.post(url, data=body, headers=headers, timeout=10).raise_for_status()
    started = time.monotonic()
    deadline = started + WARM_UP_TIMEOUT
    while bot and bot.count() < WARM_UP and time.monotonic() < deadline:
        time.sleep(0.05)
    if bot:
        bot.reset()
    return round(time.monotonic() - started, 2)


def drain(db: Path, timeout: float) -> int:
    """Wait until the store has nothing left to deliver; returns what is left at the deadline."""
    deadline = time.monotonic() + timeout
    while (depth := store_figures(db)[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return depth


def lag_histogram(port: int) -> dict:
    """The appliance's own tgwebhook_forward_lag_seconds buckets, from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    from core.metrics import bucket_table

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    families = text_string_to_metric_families(text)
    lag = [f for f in families if f.name == "tgwebhook_forward_lag_seconds"]
    return bucket_table(lag[0].samples if lag else []).get("default", ())


def metric_lag(before: tuple, after: tuple) -> dict:
    """p50/p99 the appliance's metric reports for the row (warm-up excluded), to set beside
    the lag measured from outside."""
    from core.health import quantile, window_buckets

    if not after:
        return {"metric_lag_p50_ms": None, "metric_lag_p99_ms": None}
    row = window_buckets(before, after)
    figures = {"metric_lag_p50_ms": quantile(0.5, row), "metric_lag_p99_ms": quantile(0.99, row)}
    return {k: None if v is None else round(v * 1000, 1) for k, v in figures.items()}
