"""Generate the bundled Grafana dashboards from plain dicts: `make dashboards`.

`python -m grafana.generate` writes grafana/dashboards/*.json; `--check` only compares.

The JSON under grafana/dashboards/ is committed and provisioned as is; a test fails when it
differs from what this script makes, so edit here and re-run, never edit the JSON by hand.
Classic dashboard JSON (schemaVersion 39) with a `datasource` variable instead of `__inputs`,
so the same file works for provisioning and for "Import dashboard" in the UI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana.botapi import botapi_row
from grafana.panels import (
    APPLIANCE,
    GREEN_RED,
    RATE,
    URL_MAP,
    Json,
    Layout,
    dashboard,
    panel,
    quantile_targets,
    stat,
    state_timeline,
    target,
    targets,
    thresholds,
    timeseries,
)

OUT = Path(__file__).resolve().parent / "dashboards"
# Outcomes that mean "Telegram (or someone) was refused"; see core/metrics.REQUEST_OUTCOMES.
REJECTED = "unauthorized|forbidden|unsupported_media_type|too_large|bad_request|store_failed"
FAILED_FORWARDS = "retry|dead|reply_failed"
OVERVIEW = 'job=~"$job", instance=~"$instance", bot=~"$bot"'
ONE_BOT = 'job=~"$job", instance=~"$instance", bot="$bot"'
HEATMAP = {
    "calculate": False,
    "yAxis": {"unit": "s"},
    "cellGap": 1,
    "color": {"mode": "scheme", "scheme": "Oranges", "fill": "dark"},
    "tooltip": {"mode": "single", "yHistogram": False},
    "legend": {"show": True},
}


# -- the overview ---------------------------------------------------------------------------


def overview_ingest(layout: Layout, s: str) -> None:
    layout.row("Ingest")
    layout.add(
        12,
        8,
        timeseries(
            "Ingest rate by outcome",
            "Webhook requests per second by outcome: accepted, "
            "duplicate, unknown_type and schema_deviation are answered 200; the others are "
            "refusals (401/403/415/413/400) or 503 when the store failed.",
            targets(
                (f"sum by (outcome) (rate(tgwebhook_requests_total{{{s}}}[{RATE}]))", "{{outcome}}")
            ),
            "reqps",
        ),
        timeseries(
            "Ack latency (p50 / p95 / p99)",
            "Time from request to the 200 Telegram sees "
            "(parse, dedup, durable insert). Telegram waits 60 s; anything near 1 s means "
            "the store is contended.",
            quantile_targets("tgwebhook_request_duration_seconds", s),
            "s",
        ),
    )
    layout.add(
        6,
        8,
        timeseries(
            "Duplicates",
            "Re-deliveries recognised as already stored (answered 200, not "
            "forwarded again). A rise means Telegram is retrying: it did not get our 200 in "
            "time or a proxy failed.",
            targets((f"sum by (bot) (rate(tgwebhook_duplicates_total{{{s}}}[{RATE}]))", "{{bot}}")),
            "reqps",
        ),
        timeseries(
            "Rejections by reason",
            "Refused requests by outcome. unauthorized = wrong or "
            "missing secret token, forbidden = source IP not allowed, bad_request = not a "
            "Telegram update, store_failed = 503.",
            targets(
                (
                    f"sum by (outcome) (rate(tgwebhook_requests_total{{{s}, "
                    f'outcome=~"{REJECTED}"}}[{RATE}]))',
                    "{{outcome}}",
                )
            ),
            "reqps",
        ),
        timeseries(
            "Updates stored by type",
            "New updates stored per second by update type "
            "(message, callback_query, ...); unknown = a type this version does not know.",
            targets((f"sum by (type) (rate(tgwebhook_updates_total{{{s}}}[{RATE}]))", "{{type}}")),
            "reqps",
        ),
        timeseries(
            "Store failures",
            "Updates refused with 503 because the store could not "
            "persist them (disk full, lock timeout). Telegram retries them; any value "
            "here needs attention.",
            targets(
                (f"sum by (bot) (rate(tgwebhook_store_failures_total{{{s}}}[{RATE}]))", "{{bot}}")
            ),
            "reqps",
        ),
    )


def overview_queue(layout: Layout, s: str) -> None:
    layout.row("Queue and forwarding")
    layout.add(
        8,
        8,
        timeseries(
            "Queue depth",
            "Updates stored and not yet delivered to the bot backend "
            "(pending or in flight), read from the store at scrape time.",
            targets((f"max by (bot) (tgwebhook_queue_depth{{{s}}})", "{{bot}}")),
            "short",
            min=0,
        ),
        timeseries(
            "Oldest undelivered update",
            "Age of the oldest update still waiting for the "
            "bot backend; grows steadily when the backend is down or one chat is stuck.",
            targets((f"max by (bot) (tgwebhook_queue_oldest_age_seconds{{{s}}})", "{{bot}}")),
            "s",
            min=0,
        ),
        timeseries(
            "Dead letters",
            "Updates that exhausted their delivery budget; they stay in "
            "the store until replayed or dropped (python app.py dlq).",
            targets((f"max by (bot) (tgwebhook_dead_letters{{{s}}})", "{{bot}}")),
            "short",
            min=0,
        ),
        timeseries(
            "Forward attempts by result",
            "POSTs to the bot backend per second by result: "
            "delivered, retry (failed, will retry), dead (gave up), reply_ok / "
            "reply_failed (a webhook reply executed as a Bot API call).",
            targets(
                (
                    f"sum by (result) (rate(tgwebhook_forward_attempts_total{{{s}}}[{RATE}]))",
                    "{{result}}",
                )
            ),
            "ops",
        ),
        timeseries(
            "Forward failure ratio",
            "Share of delivery attempts that failed (retry, dead "
            "or a failed reply). 100 % means the bot backend is unreachable or erroring.",
            targets(
                (
                    f"sum(rate(tgwebhook_forward_attempts_total{{{s}, "
                    f'result=~"{FAILED_FORWARDS}"}}[{RATE}])) / sum(rate('
                    f"tgwebhook_forward_attempts_total{{{s}}}[{RATE}]))",
                    "failed",
                )
            ),
            "percentunit",
            min=0,
        ),
        timeseries(
            "Forward latency (p50 / p95 / p99)",
            "Duration of one POST to the bot backend, including failures and timeouts.",
            quantile_targets("tgwebhook_forward_duration_seconds", s),
            "s",
        ),
    )
    layout.add(
        12,
        8,
        timeseries(
            "Forward lag (p50 / p95 / p99)",
            "What the appliance adds: time from acknowledging an "
            "update to Telegram to the bot backend's 2xx. Milliseconds when chats are free; "
            "seconds mean a backlog or a slow backend.",
            quantile_targets("tgwebhook_forward_lag_seconds", s),
            "s",
        ),
        timeseries(
            "Forward lag p99 by bot",
            "99th percentile of ack-to-bot time per bot; one bot far "
            "above the others points at that bot's backend.",
            targets((lag_p99("bot, le", s), "{{bot}}")),
            "s",
        ),
    )


def lag_p99(by: str, s: str) -> str:
    return (
        f"histogram_quantile(0.99, sum by ({by}) "
        f"(rate(tgwebhook_forward_lag_seconds_bucket{{{s}}}[{RATE}])))"
    )


def overview_telegram(layout: Layout, s: str) -> None:
    layout.row("Telegram side (getWebhookInfo)")
    layout.add(
        8,
        8,
        timeseries(
            "Telegram pending updates",
            "pending_update_count: updates Telegram holds "
            "for us and has not delivered yet. It should hover near 0.",
            targets((f"max by (bot) (tgwebhook_telegram_pending_updates{{{s}}})", "{{bot}}")),
            "short",
            min=0,
        ),
    )
    layout.add(
        4,
        8,
        stat(
            "Last delivery error",
            "When Telegram last failed to deliver to us "
            "(last_error_date). Telegram never clears it, so an old time here is history, "
            "not an incident.",
            targets(
                (
                    f"max by (bot) (tgwebhook_telegram_last_error_timestamp_seconds{{{s}}} "
                    "> 0) * 1000",
                    "{{bot}}",
                )
            ),
            "dateTimeFromNow",
            noValue="never",
        ),
        stat(
            "Last error class",
            "Telegram's last_error_message sorted into a class (app_5xx, "
            "timeout, auth, tls, ...); see core/delivery_errors.py for the advice per class.",
            targets(
                (
                    f"max by (bot, class) (tgwebhook_telegram_last_error_info{{{s}}}) == 1",
                    "{{bot}}: {{class}}",
                )
            ),
            "short",
            text_mode="name",
        ),
    )
    layout.add(
        8,
        8,
        timeseries(
            "Poll freshness",
            "Seconds since the last successful getWebhookInfo poll. "
            "It should stay below twice the poll interval.",
            targets(
                (
                    f"time() - max by (bot) "
                    f"(tgwebhook_telegram_poll_success_timestamp_seconds{{{s}}})",
                    "{{bot}}",
                )
            ),
            "s",
            min=0,
        ),
        timeseries(
            "Poll errors",
            "Failed getWebhookInfo polls per second (network, 401 revoked token, 429).",
            targets(
                (
                    f"sum by (bot) (rate(tgwebhook_telegram_poll_errors_total{{{s}}}[{RATE}]))",
                    "{{bot}}",
                )
            ),
            "reqps",
        ),
        stat(
            "Webhook URL",
            "Whether the URL Telegram delivers to is ours (PUBLIC_URL + "
            "/webhook/<bot>). MISMATCH: updates go elsewhere; run python app.py set-webhook.",
            targets((f"min by (bot) (tgwebhook_telegram_webhook_url_match{{{s}}})", "{{bot}}")),
            "short",
            mappings=URL_MAP,
            thresholds=thresholds(("red", None), ("green", 1)),
        ),
        stat(
            "Certificate expiry",
            "Days until the TLS certificate of the public URL expires "
            "(checked by the monitor when PUBLIC_URL is https).",
            targets((f"min by (bot) (tgwebhook_certificate_expiry_days{{{s}}})", "{{bot}}")),
            "d",
            decimals=1,
            thresholds=thresholds(("red", None), ("orange", 7), ("green", 14)),
        ),
    )


def overview_alerts(layout: Layout, s: str, appliance: str) -> None:
    layout.row("Alerts and notifications")
    layout.add(
        6,
        8,
        stat(
            "Alerts firing",
            "Number of (bot, alert) pairs the appliance's monitor holds firing right now.",
            targets((f"sum(max by (bot, alert) (tgwebhook_alert_firing{{{s}}}))", "firing")),
            "short",
            thresholds=GREEN_RED,
        ),
    )
    layout.add(
        18,
        8,
        state_timeline(
            "Alert states",
            "Each alert of each bot over time: green ok, red "
            "firing. The monitor's own rules (python app.py alerts lists them).",
            targets((f"max by (bot, alert) (tgwebhook_alert_firing{{{s}}})", "{{bot}} {{alert}}")),
        ),
    )
    layout.add(
        12,
        8,
        timeseries(
            "Notifications by result",
            "Alert notifications per second by channel and "
            "result: sent, retry (will try again), failed (gave up).",
            targets(
                (
                    f"sum by (channel, result) (rate(tgwebhook_notifications_total"
                    f"{{{appliance}}}[{RATE}]))",
                    "{{channel}} {{result}}",
                )
            ),
            "ops",
        ),
        timeseries(
            "Scrape health",
            "1 while Prometheus scrapes the appliance's /metrics "
            "successfully; 0 means it is down or unreachable.",
            targets((f"min by (instance) (up{{{appliance}}})", "{{instance}}")),
            "short",
            min=0,
            max=1,
        ),
    )
    layout.add(
        24,
        4,
        stat(
            "Version",
            "tgwebhook and Python version of each scraped appliance.",
            targets(
                (
                    f"max by (instance, version, python) (tgwebhook_build_info{{{appliance}}})",
                    "{{instance}}: tgwebhook {{version}}, Python {{python}}",
                )
            ),
            "short",
            text_mode="name",
        ),
    )


def overview() -> Json:
    layout = Layout()
    overview_ingest(layout, OVERVIEW)
    overview_queue(layout, OVERVIEW)
    botapi_row(layout, OVERVIEW)
    overview_telegram(layout, OVERVIEW)
    overview_alerts(layout, OVERVIEW, APPLIANCE)
    return dashboard(
        "tgwebhook-overview",
        "tgwebhook / Overview",
        "One tgwebhook appliance: ingest, queue and forwarding, Bot API, Telegram side, alerts.",
        layout.panels,
        multi_bot=True,
    )


# -- the per-bot drill-down -----------------------------------------------------------------


def bot_now(layout: Layout, s: str) -> None:
    layout.row("Now")
    layout.add(
        4,
        4,
        stat(
            "Ingest rate",
            "Webhook requests per second, all outcomes.",
            targets((f"sum(rate(tgwebhook_requests_total{{{s}}}[{RATE}]))", "requests")),
            "reqps",
        ),
        stat(
            "Ack latency p99",
            "99th percentile of the time to acknowledge an update.",
            [quantile_targets("tgwebhook_request_duration_seconds", s)[2]],
            "s",
            thresholds=thresholds(("green", None), ("orange", 0.25), ("red", 1)),
        ),
        stat(
            "Queue depth",
            "Stored updates not yet delivered to the bot backend.",
            targets((f"max(tgwebhook_queue_depth{{{s}}})", "depth")),
            "short",
        ),
        stat(
            "Oldest undelivered",
            "Age of the oldest update waiting for the bot backend.",
            targets((f"max(tgwebhook_queue_oldest_age_seconds{{{s}}})", "age")),
            "s",
            thresholds=thresholds(("green", None), ("orange", 60), ("red", 300)),
        ),
        stat(
            "Dead letters",
            "Updates that exhausted their delivery budget (python app.py dlq).",
            targets((f"max(tgwebhook_dead_letters{{{s}}})", "dead")),
            "short",
            thresholds=GREEN_RED,
        ),
        stat(
            "Telegram pending",
            "pending_update_count from the last getWebhookInfo poll.",
            targets((f"max(tgwebhook_telegram_pending_updates{{{s}}})", "pending")),
            "short",
            thresholds=thresholds(("green", None), ("orange", 10), ("red", 100)),
        ),
        stat(
            "Last poll",
            "Seconds since the last successful getWebhookInfo poll.",
            targets(
                (f"time() - max(tgwebhook_telegram_poll_success_timestamp_seconds{{{s}}})", "age")
            ),
            "s",
        ),
        stat(
            "Last delivery error",
            "When Telegram last failed to deliver (never cleared by "
            "Telegram; an old time is history).",
            targets(
                (f"max(tgwebhook_telegram_last_error_timestamp_seconds{{{s}}} > 0) * 1000", "error")
            ),
            "dateTimeFromNow",
            noValue="never",
        ),
        stat(
            "Last error class",
            "Telegram's last_error_message sorted into a class.",
            targets(
                (f"max by (class) (tgwebhook_telegram_last_error_info{{{s}}}) == 1", "{{class}}")
            ),
            "short",
            text_mode="name",
        ),
        stat(
            "Webhook URL",
            "Whether Telegram delivers to our public URL.",
            targets((f"min(tgwebhook_telegram_webhook_url_match{{{s}}})", "url")),
            "short",
            mappings=URL_MAP,
            thresholds=thresholds(("red", None), ("green", 1)),
        ),
        stat(
            "Certificate expiry",
            "Days until the public URL's TLS certificate expires.",
            targets((f"min(tgwebhook_certificate_expiry_days{{{s}}})", "days")),
            "d",
            decimals=1,
            thresholds=thresholds(("red", None), ("orange", 7), ("green", 14)),
        ),
        stat(
            "Alerts firing",
            "Alerts of this bot the monitor holds firing now.",
            targets((f"sum(max by (alert) (tgwebhook_alert_firing{{{s}}}))", "firing")),
            "short",
            thresholds=GREEN_RED,
        ),
    )


def bot_traffic(layout: Layout, s: str) -> None:
    layout.row("Traffic")
    layout.add(
        12,
        8,
        timeseries(
            "Requests by outcome",
            "Webhook requests per second by outcome.",
            targets(
                (f"sum by (outcome) (rate(tgwebhook_requests_total{{{s}}}[{RATE}]))", "{{outcome}}")
            ),
            "reqps",
        ),
        timeseries(
            "Ack latency (p50 / p95 / p99)",
            "Time to acknowledge an update.",
            quantile_targets("tgwebhook_request_duration_seconds", s),
            "s",
        ),
        timeseries(
            "Updates by type and duplicates",
            "New updates stored per second by type, and re-deliveries recognised as duplicates.",
            targets(
                (f"sum by (type) (rate(tgwebhook_updates_total{{{s}}}[{RATE}]))", "{{type}}"),
                (f"sum(rate(tgwebhook_duplicates_total{{{s}}}[{RATE}]))", "duplicates"),
            ),
            "reqps",
        ),
        panel(
            "heatmap",
            "Ack latency distribution",
            "Requests per latency bucket; a second band "
            "far right of the main one is lock waits or slow disk.",
            [
                target(
                    f"sum by (le) (increase(tgwebhook_request_duration_seconds_bucket{{{s}}}"
                    f"[{RATE}]))",
                    "{{le}}",
                    format="heatmap",
                )
            ],
            "short",
            options=HEATMAP,
        ),
    )


def bot_delivery(layout: Layout, s: str) -> None:
    layout.row("Delivery to the bot backend")
    layout.add(
        12,
        8,
        timeseries(
            "Forward attempts by result",
            "POSTs to the bot backend per second by result.",
            targets(
                (
                    f"sum by (result) (rate(tgwebhook_forward_attempts_total{{{s}}}[{RATE}]))",
                    "{{result}}",
                )
            ),
            "ops",
        ),
        timeseries(
            "Forward latency (p50 / p95 / p99)",
            "Duration of one POST to the bot backend.",
            quantile_targets("tgwebhook_forward_duration_seconds", s),
            "s",
        ),
        timeseries(
            "Queue depth vs Telegram pending",
            "Updates waiting here (queue) and updates "
            "Telegram still holds (pending). Pending up and queue flat: Telegram cannot "
            "reach us. Queue up: the bot backend is slow or down.",
            targets(
                (f"max(tgwebhook_queue_depth{{{s}}})", "queue depth"),
                (f"max(tgwebhook_telegram_pending_updates{{{s}}})", "Telegram pending"),
                (f"max(tgwebhook_dead_letters{{{s}}})", "dead letters"),
            ),
            "short",
            min=0,
        ),
        timeseries(
            "Oldest undelivered update",
            "Age of the oldest update still waiting.",
            targets((f"max(tgwebhook_queue_oldest_age_seconds{{{s}}})", "age")),
            "s",
            min=0,
        ),
        timeseries(
            "Forward lag (p50 / p95 / p99)",
            "Time from acknowledging an update to Telegram to the bot backend's 2xx: "
            "what the appliance adds.",
            quantile_targets("tgwebhook_forward_lag_seconds", s),
            "s",
        ),
        panel(
            "heatmap",
            "Forward lag distribution",
            "Delivered updates per lag bucket; a band in the seconds "
            "is a backlog (queue depth up) or a chat held back by retries.",
            [
                target(
                    f"sum by (le) (increase(tgwebhook_forward_lag_seconds_bucket{{{s}}}[{RATE}]))",
                    "{{le}}",
                    format="heatmap",
                )
            ],
            "short",
            options=HEATMAP,
        ),
    )


def bot_telegram(layout: Layout, s: str) -> None:
    layout.row("Telegram side and alerts")
    layout.add(
        12,
        8,
        timeseries(
            "Poll freshness and errors",
            "Seconds since the last successful poll, and failed polls per second.",
            targets(
                (
                    f"time() - max(tgwebhook_telegram_poll_success_timestamp_seconds{{{s}}})",
                    "seconds since success",
                ),
                (f"sum(rate(tgwebhook_telegram_poll_errors_total{{{s}}}[{RATE}]))", "errors/s"),
            ),
            "s",
            unit_overrides={"errors/s": "reqps"},
        ),
        state_timeline(
            "Alert states",
            "Each of this bot's alerts over time: green ok, red firing.",
            targets((f"max by (alert) (tgwebhook_alert_firing{{{s}}})", "{{alert}}")),
        ),
    )


def per_bot() -> Json:
    layout = Layout()
    bot_now(layout, ONE_BOT)
    bot_traffic(layout, ONE_BOT)
    bot_delivery(layout, ONE_BOT)
    botapi_row(layout, ONE_BOT)
    bot_telegram(layout, ONE_BOT)
    return dashboard(
        "tgwebhook-bot",
        "tgwebhook / Bot",
        "One bot of one appliance: now, traffic, delivery, Bot API, Telegram side, alerts.",
        layout.panels,
        multi_bot=False,
    )


DASHBOARDS = {"tgwebhook-overview.json": overview, "tgwebhook-bot.json": per_bot}


def render() -> dict[str, str]:
    """File name -> JSON text, exactly as committed."""
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    rendered = render()
    if "--check" in argv:
        stale = [
            n
            for n, text in rendered.items()
            if not (OUT / n).is_file() or (OUT / n).read_text() != text
        ]
        for name in stale:
            print(f"grafana/dashboards/{name} is stale: run make dashboards", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, text in rendered.items():
        (OUT / name).write_text(text)
        print(f"wrote grafana/dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
