"""The "Bot API" row of both dashboards: calls through the proxy, Telegram's 429s, the flood
shaper, and the getUpdates queue of polling bots.

One set of panels, placed by each dashboard with its own label selector (all bots of the
overview, or the drill-down's one bot).
"""

from __future__ import annotations

from grafana.panels import RATE, Json, Layout, targets, timeseries


def p99(metric: str, by: str, s: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({metric}_bucket{{{s}}}[{RATE}])))"


def calls(s: str) -> list[Json]:
    return [
        timeseries(
            "Bot API calls by method",
            "Bot API calls per second through the appliance (the proxy for polling bots, webhook "
            "replies), by method; methods outside the Bot API spec are counted as other.",
            targets(
                (
                    f"sum by (method) (rate(tgwebhook_botapi_requests_total{{{s}}}[{RATE}]))",
                    "{{method}}",
                )
            ),
            "reqps",
        ),
        timeseries(
            "Bot API calls by outcome",
            "ok (Telegram 2xx), error (other 4xx/5xx), flood_wait (Telegram's 429), shaped (the "
            "shaper answered 429 itself), local (answered by the appliance, e.g. getUpdates), "
            "failed (no answer from Telegram: 502/504).",
            targets(
                (
                    f"sum by (outcome) (rate(tgwebhook_botapi_requests_total{{{s}}}[{RATE}]))",
                    "{{outcome}}",
                )
            ),
            "reqps",
        ),
        timeseries(
            "Bot API latency p99 by method",
            "99th percentile duration of a call by method, time held by the flood shaper "
            "included; a parked getUpdates lasts up to its timeout (50 s).",
            targets((p99("tgwebhook_botapi_request_duration_seconds", "method", s), "{{method}}")),
            "s",
        ),
    ]


def floods(s: str) -> list[Json]:
    return [
        timeseries(
            "Telegram 429s",
            "Calls Telegram answered 429 Too Many Requests, per second and bot. Sustained 429s "
            "mean the bot sends faster than Telegram allows (TgwebhookBotApiFloodWait).",
            targets(
                (
                    f"sum by (bot) (rate(tgwebhook_botapi_requests_total{{{s}, "
                    f'outcome="flood_wait"}}[{RATE}]))',
                    "{{bot}}",
                )
            ),
            "reqps",
        ),
        timeseries(
            "retry_after p99",
            "99th percentile of the retry_after Telegram asked for in its 429s: seconds is a "
            "burst, minutes to hours is a penalty.",
            targets((p99("tgwebhook_botapi_flood_wait_seconds", "bot", s), "{{bot}}")),
            "s",
        ),
        timeseries(
            "Shaped calls",
            "Calls the flood shaper held back to stay within Telegram's limits (held), and those "
            "it answered 429 itself because the wait was past its bound (refused).",
            targets(
                (
                    f"sum by (bot) (rate(tgwebhook_botapi_shaping_delay_seconds_count{{{s}}}"
                    f"[{RATE}]))",
                    "{{bot}} held",
                ),
                (
                    f"sum by (bot) (rate(tgwebhook_botapi_requests_total{{{s}, "
                    f'outcome="shaped"}}[{RATE}]))',
                    "{{bot}} refused",
                ),
            ),
            "reqps",
        ),
        timeseries(
            "Shaping delay p99",
            "99th percentile of the time a call was held by the flood shaper.",
            targets((p99("tgwebhook_botapi_shaping_delay_seconds", "bot", s), "{{bot}}")),
            "s",
        ),
    ]


def polling(s: str) -> list[Json]:
    return [
        timeseries(
            "getUpdates pending",
            "Updates stored for a polling bot and not yet confirmed by a getUpdates offset "
            "(bots with a forward URL have none). Telegram warns at 200.",
            targets((f"max by (bot) (tgwebhook_getupdates_pending{{{s}}})", "{{bot}}")),
            "short",
            min=0,
        ),
        timeseries(
            "Since the last getUpdates",
            "Seconds since a polling bot last called getUpdates. A parked poll lasts up to "
            "50 s; longer while updates are pending means the bot is not polling.",
            targets(
                (
                    "time() - max by (bot) "
                    f"(tgwebhook_getupdates_last_poll_timestamp_seconds{{{s}}})",
                    "{{bot}}",
                )
            ),
            "s",
            min=0,
        ),
    ]


def botapi_row(layout: Layout, s: str) -> None:
    layout.row("Bot API")
    layout.add(8, 8, *calls(s))
    layout.add(6, 8, *floods(s))
    layout.add(12, 8, *polling(s))
