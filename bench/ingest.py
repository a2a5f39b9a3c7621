"""Ingest benchmark: tgwebhook (durable, SQLite) side by side with its peers, same load, one run.

Drives each target with wrk (Debian package) and a Lua script generating unique update_ids
(a share re-delivered), at several connection counts; prints updates/s, p50/p99/max latency,
errors and peak RSS, and writes JSON and Markdown to bench/results/.

    python bench/ingest.py                       # all targets, 1/16/64/100 connections, 10 s
    python bench/ingest.py --targets tgwebhook --connections 64 --duration 5 --dup 50
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-token"
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_bytes(pid: int) -> int:
    """RSS of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack += [int(p) for p in handle.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants."""
    total, stack, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack += [int(p) for p in handle.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class Target:
    """A server under test: started on a free port, waited for, measured, stopped."""

    def __init__(self, name: str, argv: list[str], env: dict, probe: str) -> None:
        self.name, self.argv, self.env, self.probe = name, argv, env, probe
        self.port = int(env["PORT"])
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.request(*self.probe.split(" ", 1), timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start within {timeout} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def tgwebhook_target(workdir: Path, db: str | None) -> Target:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "TGWEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "TGWEBHOOK_SECRET_TOKEN": SECRET,
        "TGWEBHOOK_DB": db or str(workdir / "bench.db"),
        "TGWEBHOOK_LOG_LEVEL": "WARNING",
    }
    # The whole appliance as deployed (web workers, monitor, forwarder in store-only mode), so
    # peak RSS counts every process an operator runs.
    argv = [sys.executable, "app.py", "serve"]
    return Target("tgwebhook", argv, env, f"GET http://127.0.0.1:{port}/readyz")


def aiogram_target(workdir: Path, db: str | None) -> Target:
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    argv = [sys.executable, "bench/peers/aiogram_peer.py", str(port), SECRET]
    return Target("aiogram", argv, env, f"GET http://127.0.0.1:{port}/webhook/default")


class PtbTarget(Target):
    """PTB needs a Bot API for getMe/setWebhook at start: a simulator process serves it."""

    def start(self, timeout: float = 60) -> None:
        api_port = int(self.env["API_PORT"])
        self.api = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--local", "--port", str(api_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(1.0)
        super().start(timeout)

    def stop(self) -> None:
        super().stop()
        os.killpg(self.api.pid, signal.SIGTERM)
        self.api.wait(timeout=10)


def ptb_target(workdir: Path, db: str | None) -> Target:
    port, api_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "API_PORT": str(api_port)}
    argv = [
        sys.executable,
        "bench/peers/ptb_peer.py",
        str(port),
        SECRET,
        f"http://127.0.0.1:{api_port}",
    ]
    return PtbTarget(
        "python-telegram-bot", argv, env, f"GET http://127.0.0.1:{port}/webhook/default"
    )


TARGETS = {"tgwebhook": tgwebhook_target, "aiogram": aiogram_target, "ptb": ptb_target}


def run_wrk(
    target: Target, connections: int, duration: int, dup: int, id_base: int, rate: float = 0
) -> dict:
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            peak[0] = max(peak[0], tree_rss_bytes(target.process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_before = tree_cpu_seconds(target.process.pid)
    env = {
        **os.environ,
        "SECRET": SECRET,
        "DUP_PERCENT": str(dup),
        "ID_BASE": str(id_base),
        "RATE": str(rate),
        "CONNS": str(connections),
    }
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "ingest.lua"),
            f"http://127.0.0.1:{target.port}/webhook/default",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    cpu = tree_cpu_seconds(target.process.pid) - cpu_before
    stop.set()
    sampler.join()
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("RESULT "))
    ok = raw["requests"] - raw["non2xx"]
    return {
        "target": target.name,
        "connections": connections,
        "dup_percent": dup,
        "offered_rate": rate or "max",
        "updates_per_s": round(ok / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["errors"],
        "peak_rss_mb": round(peak[0] / 2**20, 1),
        "server_cpu_us_per_update": round(cpu / max(ok, 1) * 1e6, 1),
    }


PEERS = {"aiogram": "aiogram", "python-telegram-bot": "PTB"}


def markdown(rows: list[dict]) -> str:
    """One row per measurement, with its throughput as a multiple of each peer's at the same
    connections and duplicate share, from the same run."""
    peers = [p for p in PEERS if any(r["target"] == p for r in rows)]
    head = (
        "| target | retained ids | conns | dup % | offered | updates/s | p50 ms | p99 ms | max ms |"
        " errors | peak RSS MB | CPU us/update |" + "".join(f" vs {PEERS[p]} |" for p in peers)
    )
    lines = [head, "|" + "---|" * (12 + len(peers))]
    base = {(r["target"], r["connections"], r["dup_percent"]): r["updates_per_s"] for r in rows}
    for r in rows:
        ratios = "".join(
            f" {r['updates_per_s'] / b:.2f}x |"
            if (b := base.get((p, r["connections"], r["dup_percent"])))
            else " - |"
            for p in peers
        )
        lines.append(
            f"| {r['target']} | {r.get('retained', 0)} | {r['connections']} | "
            f"{r['dup_percent']} | {r['offered_rate']} | "
            f"{r['updates_per_s']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['max_ms']:.1f} | {r['errors']} | "
            f"{r['peak_rss_mb']} | {r['server_cpu_us_per_update']} |{ratios}"
        )
    return "\n".join(lines)


def prefill(db: Path, count: int) -> None:
    """Retain `count` delivered update ids (bodies purged), as a busy bot's store holds them."""
    sys.path.insert(0, str(ROOT))
    from core.storage import open_store

    open_store(str(db)).close()  # schema
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        rows = (
            (i, str(i % 100_000), now, now) for i in range(1_500_000_000, 1_500_000_000 + count)
        )
        conn.executemany(
            "INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, state,"
            " delivered_at) VALUES ('default', ?, 'message', ?, ?, 1, 'delivered', ?)",
            rows,
        )


def stored_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM updates").fetchone()[0]


def run_replicas(args: argparse.Namespace) -> int:
    """N appliances on one shared store, each driven by its own wrk with its share of the
    connections (as a load balancer would split them); figures are summed (p99: the worst)."""
    if not (args.db or "").startswith("postgres"):
        print("--replicas needs --db postgresql://...", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    connections = int(args.connections.split(",")[0])
    with tempfile.TemporaryDirectory(prefix="tgwebhook-bench-") as tmp:
        targets = [tgwebhook_target(Path(tmp), args.db) for _ in range(args.replicas)]
        for target in targets:  # the same cores in total, whatever the replica count
            target.env["TGWEBHOOK_WORKERS"] = str(max(1, cores // args.replicas))
            target.start()
        try:
            with ThreadPoolExecutor(len(targets)) as pool:
                parts = list(
                    pool.map(
                        lambda it: run_wrk(
                            it[1], connections // len(targets), args.duration, 0, it[0] * 10**8
                        ),
                        enumerate(targets),
                    )
                )
        finally:
            for target in targets:
                target.stop()
    row = {
        **parts[0],
        "target": f"tgwebhook x{args.replicas}",
        "connections": connections,
        "updates_per_s": round(sum(p["updates_per_s"] for p in parts), 1),
        "p99_ms": max(p["p99_ms"] for p in parts),
        "max_ms": max(p["max_ms"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "peak_rss_mb": sum(p["peak_rss_mb"] for p in parts),
    }
    print(json.dumps(row))
    print(markdown([row]))
    save(args, [row])
    return 0


def save(args: argparse.Namespace, rows: list[dict]) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / f"{args.name}.md").write_text(markdown(rows) + "\n")


def measure(target: Target, args: argparse.Namespace, retained: int, done: int) -> list[dict]:
    """Every dup share x connections row of one target; `retained` ids prefilled first."""
    if retained:
        started = time.monotonic()
        prefill(Path(target.env["TGWEBHOOK_DB"]), retained)
        os.sync()  # so the measurement does not pay for writing back the prefill
        print(f"prefilled {retained} update ids in {time.monotonic() - started:.0f} s", flush=True)
    rows = []
    target.start()
    try:
        for dup in (int(d) for d in args.dup.split(",")):
            for connections in (int(c) for c in args.connections.split(",")):
                id_base = (done + len(rows)) * 10**8  # below the prefilled ids (1.5e9)
                row = run_wrk(target, connections, args.duration, dup, id_base, args.rate)
                rows.append({**row, "retained": retained})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        target.stop()
    if "TGWEBHOOK_DB" in target.env and args.db is None:
        print(f"tgwebhook stored rows: {stored_rows(Path(target.env['TGWEBHOOK_DB']))}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--connections", default="1,16,64,100")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--dup", default="0", help="comma-separated re-delivery percentages")
    parser.add_argument(
        "--rate", type=float, default=0, help="fixed total rate (0 = as fast as possible)"
    )
    parser.add_argument("--db", default=None, help="store for tgwebhook (default: a temp SQLite)")
    parser.add_argument("--name", default="ingest", help="results file name")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    parser.add_argument(
        "--prefill", default="0", help="comma-separated update ids already retained (tgwebhook)"
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="tgwebhook replicas sharing --db (postgresql://)"
    )
    args = parser.parse_args()
    if args.replicas > 1:
        return run_replicas(args)
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tgwebhook-bench-") as tmp:
        for name in args.targets.split(","):
            sizes = [int(n) for n in args.prefill.split(",")] if name == "tgwebhook" else [0]
            for retained in sizes:
                workdir = Path(tmp) / f"{name}-{retained}"
                workdir.mkdir()
                rows += measure(TARGETS[name](workdir, args.db), args, retained, len(rows))
    table = markdown(rows)
    print(table)
    save(args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
