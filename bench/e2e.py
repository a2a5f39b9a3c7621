"""End-to-end benchmark: what a bot behind the appliance gets, beside the same bot fed directly.

Each appliance row starts a fresh `python app.py serve` (temp SQLite store, monitor and
forwarder as deployed) with TGWEBHOOK_FORWARD_URL at a bot process, offers updates, waits for
the queue to drain (bounded), then stops it. The same load goes straight to the bot in the same
run (the "direct" rows): what the bot would get from Telegram without the appliance.

Bots (bench/e2e_agents.py, own processes): "fast" (aiohttp, 200 at once) and "aiogram" (an
unmodified aiogram 3 webhook bot, handler does nothing). Each writes down the wall-clock time its
handler saw every update_id.

Load:
- fixed rates: an asyncio loader process (plain streams, open loop, 64 keep-alive connections)
  that writes, per update, the time it was sent and the time its 200 was read. Checked against
  the direct rows: it sustains the offered rate there (3,000/s measured), so it is not what
  limits the appliance rows.
- saturation: wrk (64 connections, bench/e2e.lua), as bench/ingest.py.

Added latency (honest and conservative): bot receive time minus the moment the loader *read* the
appliance's 200, per update, both wall clock on one machine. It slightly understates what the
appliance adds (the 200's trip back to the loader is not counted), and can be below zero when
the forwarder delivers before the loader has read the answer. wrk rows give no per-update
times, so they show throughput only. "send->bot" is bot receive time minus send time, for both
paths: the difference between the appliance and the direct row is the whole cost incl. the ack.

Also: delivered/s during the load window, queue depth (from the store) when the load stops,
time until the bot has every acknowledged update, forwarder CPU per delivered update
(/proc/<pid>/stat of the forwarder child, load + drain), peak RSS of the whole appliance, lost
and duplicated updates, and per-chat order violations (an update delivered after one that was
sent only after the first had been acknowledged). Ingest at 64 connections with forwarding on
(the saturation row) is shown next to a store-only appliance (issue 13 item 4).

    python bench/e2e.py                                   # default rows, 10 s each
    python bench/e2e.py --duration 60 --rates 2000 --rows rates
    python bench/e2e.py --duration 2 --rates 100 --rows rates,one-chat --name smoke --out /tmp/x
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from e2e_report import lag_stats, markdown, order_violations
from e2e_rig import (
    Bot,
    PeakRss,
    appliance,
    cpu_seconds,
    drain,
    forwarder_pid,
    lag_histogram,
    metric_lag,
    run_loader,
    run_wrk,
    store_figures,
    warm_up,
)
from ingest import ROOT

RESULTS = ROOT / "bench" / "results"
ROW_KINDS = ("rates", "one-chat", "saturation", "store-only", "aiogram")


def measure(spec: dict, bot: Bot | None, args: argparse.Namespace, tmp: Path) -> dict:
    """One row: spec has path (appliance/store-only/direct), load (rate or 'max'), chats."""
    base, workdir = spec["base"], tmp / f"row-{spec['base']}"
    target = appliance(workdir, bot) if spec["path"] != "direct" else None
    workdir.mkdir()
    if target:
        target.start()
        url = f"http://127.0.0.1:{target.port}/webhook/default"
        warm = warm_up(url, bot, base - 1000)
    else:
        url = f"{bot.url}/hook"
        bot.reset()
        warm = None
    try:
        before = lag_histogram(target.port) if target else {}
        row = load_and_wait(spec, bot, target, url, args, workdir)
        if target:
            row.update(metric_lag(before, lag_histogram(target.port)))
        return {**row, "warm_up_s": warm}
    finally:
        if target:
            target.stop()


def load_and_wait(spec, bot, target, url, args, workdir) -> dict:
    fpid = forwarder_pid(target.process.pid) if target else None
    cpu_before = cpu_seconds(fpid)
    with PeakRss(target.process.pid if target else None) as rss:
        if spec["load"] == "max":
            wrk = run_wrk(url, args.duration, spec["chats"], spec["base"], args.connections)
            load = {"wrk": wrk}
            ended = time.time()
            load["window"] = (ended - load["wrk"]["duration_us"] / 1e6, ended)
        else:
            load = run_loader(
                url, spec["load"], args.duration, spec["chats"], spec["base"], workdir
            )
        depth = store_figures(workdir / "e2e.db")[0] if target else 0
        left = drain(workdir / "e2e.db", args.drain_timeout) if target and bot else 0
        # Counted after the drain: wrk stops with answers in flight that are still stored.
        stored = store_figures(workdir / "e2e.db")[1] if target else 0
        cpu = cpu_seconds(fpid) - cpu_before
    received = bot.received() if bot else []
    row = summarise(spec, load, received, stored, depth, left)
    if "wrk" in load:
        row["connections"] = args.connections
    row["forwarder_cpu_us_per_update"] = (
        round(cpu / row["delivered"] * 1e6, 1) if fpid and row["delivered"] else None
    )
    row["rss_mb"] = round(rss.peak / 2**20, 1) if rss.peak else None
    row["load_average_1m"] = round(os.getloadavg()[0], 1)  # other work on the box skews rows
    return row


def summarise(spec, load, received, stored, depth, left) -> dict:
    started, ended = load["window"]
    ids = {uid for uid, _ in received}
    wrk = load.get("wrk")
    appliance = spec["path"] != "direct"
    # wrk does not count answers in flight when it stops: the store's count is exact, and a
    # bot answers 200 to everything it writes down.
    acked = stored if appliance else len(ids) if wrk else len(load["acked"])
    row = {
        **{k: v for k, v in spec.items() if k != "base"},
        "acked": acked,
        "acked_per_s": round(acked / (ended - started), 1),
        "delivered": len(ids),
        "delivered_per_s": round(sum(1 for _, t in received if t <= ended) / (ended - started), 1),
        "duplicates": len(received) - len(ids),
        "lost": acked - len(ids) if appliance and spec["bot"] != "none" and not left else None,
        "queue_after": depth,
        "queue_left": left,
        "drain_s": None,
    }
    if appliance and received and not left:
        row["drain_s"] = round(max(0.0, max(t for _, t in received) - ended), 2)
    if wrk:
        row.update(ack_p50_ms=wrk["p50_us"] / 1000, ack_p99_ms=wrk["p99_us"] / 1000)
        row["errors"] = wrk["errors"]
        return row
    row["order_violations"] = order_violations(received, load, spec["base"], spec["chats"])
    row.update(lag_stats(received, load, appliance))
    row["errors"] = len(load["sent"]) - len(load["acked"])
    row["sent_per_s"] = round(len(load["sent"]) / (max(load["sent"].values()) - started), 1)
    return row


def plan(args: argparse.Namespace) -> list[dict]:
    """Which rows run, in order; bases keep update_ids of rows apart."""
    kinds = args.rows.split(",")
    rates = [float(r) for r in args.rates.split(",")]
    specs: list[dict] = []

    def add(bot: str, load, chats: int, paths=("appliance", "direct")) -> None:
        for path in paths:
            specs.append({"bot": bot, "path": path, "load": load, "chats": chats})

    if "rates" in kinds:
        for rate in rates:
            add("fast", rate, args.chats)
    if "one-chat" in kinds:
        for rate in (float(r) for r in args.one_chat_rates.split(",")):
            add("fast", rate, 1)
        add("fast", "max", 1, ("appliance",))
    if "saturation" in kinds:
        add("fast", "max", args.chats)
    if "store-only" in kinds:
        add("none", "max", args.chats, ("store-only",))
    if "aiogram" in kinds:
        for rate in (float(r) for r in args.aiogram_rates.split(",")):
            add("aiogram", rate, args.chats)
        add("aiogram", "max", args.chats)
    for i, spec in enumerate(specs):
        spec["base"] = (i + 1) * 100_000_000
    return specs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROW_KINDS), help=f"any of {ROW_KINDS}")
    parser.add_argument("--rates", default="200,1000,2000", help="fixed rates, 500 chats")
    parser.add_argument("--one-chat-rates", default="300,1000")
    parser.add_argument("--aiogram-rates", default="1000")
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (max rows)")
    parser.add_argument("--drain-timeout", type=float, default=30)
    parser.add_argument("--name", default="e2e")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    specs = plan(args)
    bots: dict[str, Bot] = {}
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="tgwebhook-e2e-") as tmp:
            for spec in specs:
                if spec["bot"] != "none" and spec["bot"] not in bots:
                    bots[spec["bot"]] = Bot(spec["bot"])
                rows.append(measure(spec, bots.get(spec["bot"]), args, Path(tmp)))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        for bot in bots.values():
            bot.stop()
    text = markdown(rows, args)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / f"{args.name}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
