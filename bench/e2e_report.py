"""Figures and Markdown of bench/e2e.py, from what the loader and the bot wrote down."""

from __future__ import annotations

import argparse
import math

WARM_UP_TIMEOUT = 30  # seconds bench/e2e_rig.py waits for the warm-up updates at the bot


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def first_receipts(received: list[tuple[int, float]]) -> dict[int, float]:
    first: dict[int, float] = {}
    for uid, at in received:
        first.setdefault(uid, at)
    return first


def lag_stats(received: list[tuple[int, float]], load: dict, appliance: bool) -> dict:
    """Added latency (bot receive - loader read the 200; appliance rows only), send->bot and
    the loader's ack round trip."""
    sent, acked = load["sent"], load["acked"]
    first = first_receipts(received)
    lag = [(at - acked[uid]) * 1000 for uid, at in first.items() if uid in acked and appliance]
    to_bot = [(at - sent[uid]) * 1000 for uid, at in first.items() if uid in sent]
    rtt = [(acked[uid] - sent[uid]) * 1000 for uid in acked]
    figures = {
        "lag_p50_ms": percentile(lag, 0.5),
        "lag_p99_ms": percentile(lag, 0.99),
        "lag_max_ms": max(lag, default=math.nan),
        "send_to_bot_p50_ms": percentile(to_bot, 0.5),
        "send_to_bot_p99_ms": percentile(to_bot, 0.99),
        "ack_p50_ms": percentile(rtt, 0.5),
        "ack_p99_ms": percentile(rtt, 0.99),
    }
    return {k: None if math.isnan(v) else round(v, 2) for k, v in figures.items()}


def order_violations(received: list[tuple[int, float]], load: dict, base: int, chats: int) -> int:
    """Deliveries in a chat that came before an update acknowledged before they were even sent
    (the appliance stored them in that order, so it must deliver them in that order)."""
    sent, acked = load["sent"], load["acked"]
    last: dict[int, int] = {}
    count = 0
    for uid, _ in first_receipts(received).items():
        chat = (uid - base) % chats
        previous = last.get(chat)
        if previous is not None and acked.get(uid, math.inf) < sent.get(previous, -math.inf):
            count += 1
        last[chat] = uid
    return count


def cell(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


DELIVERY_HEAD = (
    "| bot | path | chats | offered/s | acked/s | delivered/s (during load) | added lag p50 / p99 /"
    " max ms | per metric p50 / p99 ms | send->bot p50 / p99 ms"
    " | queue at end of load | drain s | lost | dup | order"
    " violations | forwarder CPU us/update | RSS MB | load avg |"
)


def delivery_line(r: dict) -> str:
    offered = f"max (wrk {r['connections']} conns)" if r["load"] == "max" else cell(r["load"], 0)
    lag = " / ".join(cell(r.get(k)) for k in ("lag_p50_ms", "lag_p99_ms", "lag_max_ms"))
    to_bot = " / ".join(cell(r.get(k)) for k in ("send_to_bot_p50_ms", "send_to_bot_p99_ms"))
    metric = " / ".join(cell(r.get(k)) for k in ("metric_lag_p50_ms", "metric_lag_p99_ms"))
    drain = cell(r["drain_s"], 2)
    if r["queue_left"]:
        drain = f"not in time ({r['queue_left']:,} left)"
    cells = [
        r["bot"],
        r["path"],
        cell(r["chats"]),
        offered,
        cell(r["acked_per_s"]),
        cell(r["delivered_per_s"]),
        lag,
        metric,
        to_bot,
        cell(r["queue_after"]),
        drain,
        cell(r.get("lost")),
        cell(r["duplicates"]),
        cell(r.get("order_violations")),
        cell(r["forwarder_cpu_us_per_update"]),
        cell(r["rss_mb"]),
        cell(r.get("load_average_1m")),
    ]
    return "| " + " | ".join(cells) + " |"


def ingest_table(rows: list[dict]) -> list[str]:
    """Issue 13 item 4: ingest at saturation with forwarding on beside store-only."""
    lines = [
        "| appliance | chats | wrk conns | ingest updates/s | ack p50 ms | ack p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["load"] == "max" and r["path"] in ("appliance", "store-only") and r["chats"] > 1:
            mode = "store-only" if r["path"] == "store-only" else f"forwarding to {r['bot']} bot"
            lines.append(
                f"| {mode} | {r['chats']} | {r['connections']} | {cell(r['acked_per_s'])} | "
                f"{cell(r['ack_p50_ms'])} | {cell(r['ack_p99_ms'])} | {r['errors']} |"
            )
    return lines


def stuck_rows(rows: list[dict]) -> list[str]:
    """Rows whose appliance did not even deliver the warm-up: say so, not just 'not in time'."""
    stuck = [
        f"{r['bot']} bot, {r['chats']} chats, offered {r['load']}"
        for r in rows
        if (r.get("warm_up_s") or 0) >= WARM_UP_TIMEOUT
    ]
    if not stuck:
        return []
    return [
        f"**The forwarder delivered nothing** (not even the 20 warm-up updates within "
        f"{WARM_UP_TIMEOUT} s) in: {'; '.join(stuck)}.",
        "",
    ]


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    out = [
        f"Each row {args.duration:g} s of load; drain waited up to {args.drain_timeout:g} s. "
        "Appliance = `python app.py serve` (SQLite, monitor, forwarder) forwarding to the bot; "
        "direct = the same load straight to the same bot, same run.",
        "",
        DELIVERY_HEAD,
        "|" + "---|" * DELIVERY_HEAD.count(" |"),
        *(delivery_line(r) for r in rows),
        "",
        *stuck_rows(rows),
        *ingest_table(rows),
        "",
        "How measured: fixed rates from an asyncio loader (64 keep-alive connections, open loop) "
        "that records per update the send time and the time it read the 200; the bot records "
        "its receive time. Added lag = bot receive - loader read the appliance's 200 (the 200's "
        "trip back is not counted, so this slightly understates the appliance's share). "
        "per metric = the appliance's own tgwebhook_forward_lag_seconds over the row "
        "(histogram_quantile of its buckets). "
        "send->bot = bot receive - send, for both paths. `max` rows use wrk (64 connections), "
        "which gives no per-update times: throughput only. delivered/s counts updates the bot "
        "got within the load window; queue = undelivered updates in the store when the load "
        "stopped; drain = last delivery minus end of load. Forwarder CPU = utime+stime of the "
        "forwarder child over load + drain, divided by updates delivered. RSS = peak of serve "
        "and all its children. lost = acknowledged but never at the bot (only when drained).",
    ]
    return "\n".join(out)
