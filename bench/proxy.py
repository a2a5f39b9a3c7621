"""Bot API proxy benchmark: a polling bot behind the appliance, beside the same calls made to
Telegram (the simulator) directly, in one run.

The simulator (`python -m simulator --local`, own process) is Telegram; a fresh `python app.py
serve` (temp SQLite, poll mode: no forward URL, started as bench/ingest.py does) has it as API
base and its webhook set there. The proxy answers on the loopback listener (OPS_LISTEN empty).

(a) getUpdates wake-up: updates are injected at the simulator at a fixed rate over many chats;
    it POSTs each to the appliance. One poller loops getUpdates (timeout=50) through the proxy
    and notes when each update came back. "ack->poll" is that minus the time the simulator read
    the appliance's 200 (its delivery journal; the issue asks p99 <= 20 ms; below zero when the
    commit wakes the poll before the 200 is read). "inject->poll" is the whole path; the direct
    row is the same load on a second bot polling the simulator's own getUpdates.
(b) sendMessage from 1 and 64 concurrent callers, to distinct private chats (one message each,
    so a per-chat shaper admits them), straight to the simulator and through the proxy; added
    latency = proxy minus direct per quantile. Once with flood shaping on (the default: its
    30/s overall limit holds a faster caller), once on a second appliance with it off (what the
    proxy itself adds). Proxy CPU per call: CPU time of the whole serve process tree during a
    proxy row, less its idle CPU rate (measured before the rows) over that time, / the calls.

    python bench/proxy.py                      # 200 updates/s for 20 s; 500 / 1,000 sends
    python bench/proxy.py --duration 5 --sends 100 --out /tmp/x
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import requests
from ingest import ROOT, SECRET, Target, free_port, tgwebhook_target, tree_cpu_seconds
from proxy_report import CHATS, QUANTILES, markdown

RESULTS = ROOT / "bench" / "results"
IDLE_SECONDS = 3.0
# make_token(1) and (2) of simulator/tokens.py, spelled out: bench runs from bench/ without the
# repository root on sys.path.
TOKENS = (
    "7000000001:AAodMofShc3CF28BAfzLuE-eXZHilGlgP65",
    "7000000002:AAxfcdHq26U01MkBkwzfgpliORNIHR3gyup",
)


def quantiles(values: list[float]) -> dict:
    """p50/p99/max in ms (nearest rank), None when there is nothing to rank."""
    if not values:
        return dict.fromkeys(QUANTILES)
    ranked = sorted(values)

    def at(q: float) -> float:
        return round(ranked[min(len(ranked) - 1, int(q * len(ranked)))] * 1000, 2)

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


class Simulator:
    """`python -m simulator --local` in its own process, driven over its admin API."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "simulator", "--local", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*argv, "--seed", "1"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/admin/health", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("simulator did not start")

    def admin(self, verb: str, token: str, action: str, body: object = None) -> object:
        url = f"{self.url}/admin/bots/{token}/{action}"
        answer = requests.request(verb, url, json=body, timeout=30).json()
        assert answer["ok"], answer
        return answer["result"]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


def poll(base: str, token: str, got: dict, expected: list[int], deadline: float) -> None:
    """Loop getUpdates as a polling bot does, noting when each update_id came back (and, under
    the key "calls", how many getUpdates it took)."""
    offset, session = 0, requests.Session()
    while time.time() < deadline and not (expected and set(expected) <= got.keys()):
        wait = max(0, min(50, int(deadline - time.time())))
        body = {"offset": offset, "timeout": wait, "limit": 100}
        answer = session.post(f"{base}/bot{token}/getUpdates", json=body, timeout=wait + 10)
        at = time.time()
        updates = answer.json()["result"]
        for update in updates:
            got.setdefault(update["update_id"], at)
        if updates:
            offset = updates[-1]["update_id"] + 1
        got["calls"] = got.get("calls", 0) + 1
    session.close()


def inject(sim: Simulator, token: str, rate: float, duration: float, first_chat: int) -> dict:
    """update_id -> time the injection was sent, at `rate`/s (open loop) for `duration` s."""
    sent: dict[int, float] = {}
    session, started, count = requests.Session(), time.time(), int(rate * duration)
    url = f"{sim.url}/admin/bots/{token}/updates"
    for i in range(count):
        pause = started + i / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        at = time.time()
        item = {"type": "message", "chat_id": first_chat + i % CHATS, "text": f"u{i}"}
        answer = session.post(url, json=[item], timeout=10).json()
        sent[answer["result"][0]["update_id"]] = at
    session.close()
    return sent


def wake_up_row(sim, base: str, token: str, rate: float, duration: float, acked: bool) -> dict:
    """One (a) row: inject at `rate` while one poller loops getUpdates at `base`."""
    got: dict = {}
    expected: list[int] = []
    deadline = time.time() + duration + 60
    poller = threading.Thread(target=poll, args=(base, token, got, expected, deadline))
    poller.start()
    sent = inject(sim, token, rate, duration, 1000)
    expected += list(sent)  # the poller stops once it has them all (or at the deadline)
    poller.join(timeout=duration + 70)
    calls = got.pop("calls", 0)
    row = {"updates": len(sent), "returned": len(set(sent) & got.keys()), "getUpdates_calls": calls}
    row["inject_to_poll"] = quantiles([got[u] - sent[u] for u in sent if u in got])
    if acked:
        journal = sim.admin("GET", token, "deliveries")
        ack = {a["update_id"]: a["time"] for a in journal if a["outcome"] == "delivered"}
        row["ack_to_poll"] = quantiles([got[u] - ack[u] for u in sent if u in got and u in ack])
    return row


async def send_all(base: str, token: str, callers: int, calls: int, first_chat: int) -> dict:
    """`calls` sendMessage from `callers` concurrent callers, each to a chat of its own."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    chats = iter(range(first_chat, first_chat + calls))
    connector = aiohttp.TCPConnector(limit=callers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def caller() -> None:
            for chat in chats:
                started = time.perf_counter()
                body = {"chat_id": chat, "text": "bench"}
                async with session.post(f"{base}/bot{token}/sendMessage", json=body) as answer:
                    await answer.read()
                latencies.append(time.perf_counter() - started)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed = time.perf_counter() - started
    return {
        "calls": calls,
        "per_s": round(calls / elapsed, 1),
        "statuses": statuses,
        **quantiles(latencies),
    }


def send_rows(sim: Simulator, proxy: str, serve_pid: int, sends: dict[int, int]) -> list[dict]:
    rows, chat = [], 10**9
    idle = tree_cpu_seconds(serve_pid)
    time.sleep(IDLE_SECONDS)  # the tree's own background (monitor, forwarder) is not the proxy's
    idle = (tree_cpu_seconds(serve_pid) - idle) / IDLE_SECONDS
    for callers, calls in sends.items():
        for base in (sim.url, proxy):  # warm-up: connections, upstream pool, code paths
            asyncio.run(send_all(base, TOKENS[0], callers, min(calls, 100), chat))
            chat += calls
        direct = asyncio.run(send_all(sim.url, TOKENS[0], callers, calls, chat))
        chat += calls
        cpu, started = tree_cpu_seconds(serve_pid), time.monotonic()
        proxied = asyncio.run(send_all(proxy, TOKENS[0], callers, calls, chat))
        cpu = tree_cpu_seconds(serve_pid) - cpu - idle * (time.monotonic() - started)
        chat += calls
        row = {"callers": callers, "direct": direct, "proxy": proxied, "idle_cpu_s_per_s": idle}
        rows.append({**row, "proxy_cpu_us_per_call": round(cpu / calls * 1e6, 1)})
    return rows


def appliance(workdir: Path, sim: Simulator, env: dict[str, str]) -> Target:
    workdir.mkdir()
    target = tgwebhook_target(workdir, None)
    target.env.update({"TGWEBHOOK_BOT_TOKEN": TOKENS[0], "TGWEBHOOK_API_BASE": sim.url, **env})
    target.env.pop("TGWEBHOOK_FORWARD_URL", None)  # poll mode: getUpdates serves the bot
    target.start()
    webhook = {"url": f"http://127.0.0.1:{target.port}/webhook/default", "secret_token": SECRET}
    answer = requests.post(f"{sim.url}/bot{TOKENS[0]}/setWebhook", json=webhook, timeout=10)
    assert answer.json()["ok"], answer.text
    return target


def measure(sim: Simulator, workdir: Path, env: dict, args: argparse.Namespace, wake: bool):
    """One fresh appliance with `env`: the (a) rows if `wake`, then the (b) rows."""
    target = appliance(workdir, sim, env)
    found: dict = {}
    try:
        proxy = f"http://127.0.0.1:{target.port}"
        paths = {
            "appliance (proxy)": (proxy, TOKENS[0], True),
            "direct (simulator getUpdates)": (sim.url, TOKENS[1], False),
        }
        for base, token, acked in paths.values() if wake else ():  # warm-up
            wake_up_row(sim, base, token, args.rate, 1, acked)
        found["wake_up"] = {
            name: wake_up_row(sim, base, token, args.rate, args.duration, acked)
            for name, (base, token, acked) in (paths.items() if wake else ())
        }
        sends = {1: args.sends, 64: args.sends * 2}
        found["send"] = send_rows(sim, proxy, target.process.pid, sends)
    finally:
        target.stop()
    return found


def run(args: argparse.Namespace, workdir: Path) -> dict:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result = {"when": when, "rate": args.rate, "duration": args.duration}
    result["load_before"] = round(os.getloadavg()[0], 2)
    sim = Simulator()
    try:
        result |= measure(sim, workdir / "shaped", {}, args, wake=True)
        # The same sends with the shaper off: what the proxy itself adds, without the waits
        # Telegram's 30/s overall limit imposes on a caller faster than that.
        off = {"TGWEBHOOK_FLOOD_SHAPING": "false"}
        result["send_unshaped"] = measure(sim, workdir / "unshaped", off, args, False)["send"]
    finally:
        sim.stop()
    result["load_after"] = round(os.getloadavg()[0], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="updates/s injected")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of injection")
    parser.add_argument("--sends", type=int, default=500, help="sendMessage calls at 1 caller")
    parser.add_argument("--name", default="proxy")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        result = run(args, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
