"""The Markdown table of bench/proxy.py's figures."""

from __future__ import annotations

CHATS = 500  # the injected updates' chats
QUANTILES = ("p50_ms", "p99_ms", "max_ms")


def markdown(result: dict) -> str:
    lines = [
        f"# Bot API proxy ({result['when']}, load average {result['load_before']} before,"
        f" {result['load_after']} after)",
        "",
        f"(a) getUpdates wake-up: {result['rate']} updates/s for {result['duration']} s over"
        f" {CHATS} chats, one poller, timeout=50. Times in ms.",
        "",
        "| path | updates | returned | getUpdates calls | ack->poll p50 | p99 | max"
        " | inject->poll p50 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["wake_up"].items():
        ack = row.get("ack_to_poll", dict.fromkeys(QUANTILES, "-"))
        figures = [*ack.values(), *row["inject_to_poll"].values()]
        counts = f"{row['updates']} | {row['returned']} | {row['getUpdates_calls']}"
        lines.append(f"| {name} | {counts} | " + " | ".join(map(str, figures)) + " |")
    lines += [
        "",
        "(b) sendMessage, one message per private chat (distinct chat ids, so the per-chat"
        " limit admits every call; the 30/s overall limit still holds a faster caller when"
        " shaping is on). Times in ms; added = proxy minus direct at the same quantile, direct"
        " measured beside each proxy row. Proxy CPU/call: the serve tree's CPU during the row"
        " less its idle rate over that time, per call.",
        "",
        "| shaping | callers | calls | direct p50 | direct p99 | proxy p50 | proxy p99"
        " | added p50 | added p99 | direct calls/s | proxy calls/s | proxy CPU/call"
        " | proxy statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    shaped = [("on (default)", row) for row in result["send"]]
    lines += [send_line(shaping, row) for shaping, row in shaped] + [
        send_line("off", row) for row in result.get("send_unshaped", [])
    ]
    return "\n".join(lines) + "\n"


def send_line(shaping: str, row: dict) -> str:
    d, p = row["direct"], row["proxy"]
    return (
        f"| {shaping} | {row['callers']} | {p['calls']} | {d['p50_ms']} | {d['p99_ms']}"
        f" | {p['p50_ms']} | {p['p99_ms']} | {round(p['p50_ms'] - d['p50_ms'], 2)}"
        f" | {round(p['p99_ms'] - d['p99_ms'], 2)} | {d['per_s']} | {p['per_s']}"
        f" | {row['proxy_cpu_us_per_call']} us | {p['statuses']} |"
    )
