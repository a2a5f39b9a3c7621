"""Every panel query and alert expression, run by a real Prometheus against a real appliance.

One live stack per module (see live_stack.py): the simulator delivers updates to a running
`python app.py serve`, the bot backend fails for one chat, a secret is wrong, Telegram fails
to deliver; Prometheus scrapes every second and evaluates grafana/prometheus/alerts.yml.
"""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import SPECS
from tests.helpers.grafana_kit import (
    Query,
    load_dashboards,
    load_rules,
    panel_queries,
    rule_queries,
    selectors,
    substitute,
    wait,
)

# Alerts this scenario must raise (pending or firing), and those it must not.
EXPECTED_ALERTS = {
    "TgwebhookRejectionSpike",  # 45 wrong secrets + 20 bad bodies in a few seconds
    "TgwebhookTelegramDeliveryErrors",  # rotated secret: fresh last_error_date, pending > 0
    "TgwebhookWebhookUrlMismatch",  # Telegram delivers to 127.0.0.1:<port>, not PUBLIC_URL
    "TgwebhookCertificateExpiry",  # the PUBLIC_URL certificate expires in 5 days
    "TgwebhookDeadLetters",  # the bot backend answers 500 for one chat
}
QUIET_ALERTS = {
    "TgwebhookTargetDown",
    "TgwebhookMetricsAbsent",
    "TgwebhookStoreMetricsMissing",
    "TgwebhookStoreFailures",
    "TgwebhookPollStale",
    "TgwebhookForwardFailing",  # other chats are delivered
    "TgwebhookAckLatencyHigh",
    "TgwebhookTelegramBacklog",  # 3 pending, threshold 100
    "TgwebhookQueueStuck",
    "TgwebhookForwardLagHigh",  # the chats that are delivered get theirs in milliseconds
    "TgwebhookBotApiFloodWait",  # no Bot API call is made at all
    "TgwebhookGetUpdatesStale",  # the bot forwards: no getUpdates queue
}
# Series only a polling bot has; test_live_polling.py runs their panels and selectors.
POLLING_ONLY = ("tgwebhook_getupdates_pending", "tgwebhook_getupdates_last_poll_timestamp")
# Conditions the scenario needs before any panel is judged (each bounded by grafana_kit.WAIT).
SETTLED = (
    'tgwebhook_dead_letters{bot="default"} > 0',
    'tgwebhook_telegram_last_error_timestamp_seconds{bot="default"} > 0',
    'tgwebhook_telegram_pending_updates{bot="default"} > 0',
    'tgwebhook_certificate_expiry_days{bot="default"}',
    'tgwebhook_alert_firing{bot="default"} == 1',
    'increase(tgwebhook_notifications_total{result="sent"}[1m]) > 0',
    'increase(tgwebhook_duplicates_total{bot="default"}[1m]) > 0',
)


@pytest.fixture(scope="module")
def settled(live):
    for expr in SETTLED:
        live.prometheus.wait_for(expr)
    return live


def ids(queries: list[Query]) -> list[str]:
    return [q.where for q in queries]


FORWARDED_PANELS = [q for q in panel_queries() if not any(m in q.expr for m in POLLING_ONLY)]


@pytest.mark.parametrize("query", FORWARDED_PANELS, ids=ids(FORWARDED_PANELS))
def test_panel_query_returns_data(settled, query):
    expr = substitute(query.expr, settled.values)
    assert settled.prometheus.query(expr), f"panel '{query.where}' shows no data: {expr}"


@pytest.mark.parametrize("query", rule_queries(), ids=ids(rule_queries()))
def test_every_selector_of_an_alert_matches_live_series(settled, query):
    for selector in selectors(query.expr):
        if selector.startswith(POLLING_ONLY):
            continue
        assert settled.prometheus.query(selector), f"{query.where}: {selector} matches nothing"


def test_prometheus_evaluates_every_rule_without_error(settled):
    def evaluated() -> list[dict]:
        groups = settled.prometheus.api("rules", type="alert")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return (
            rules if all(rule.get("lastEvaluation", "").startswith("2") for rule in rules) else []
        )

    rules = wait(evaluated, 10, "rules not evaluated")
    assert {r["name"] for r in rules} == {r["alert"] for r in load_rules()}
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken


def test_the_scenario_raises_exactly_the_alerts_it_provokes(settled):
    def all_expected() -> dict[str, str] | None:
        active = settled.prometheus.alerts()
        return active if active.keys() >= EXPECTED_ALERTS else None

    assert {rule["alert"] for rule in load_rules()} == EXPECTED_ALERTS | QUIET_ALERTS
    active = wait(all_expected, 30, f"alerts {sorted(EXPECTED_ALERTS)} not all active")
    assert not QUIET_ALERTS & active.keys(), active
    assert set(active.values()) <= {"pending", "firing"}


def test_template_variables_resolve_to_the_live_appliance(settled):
    for dashboard in load_dashboards().values():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["definition"])
            assert match, variable["definition"]
            selector = substitute(match.group(1), settled.values)
            series = settled.prometheus.api("series", **{"match[]": selector})
            found = {s.get(match.group(2)) for s in series}
            assert settled.values[variable["name"]] in found, (variable["name"], found)


def test_appliance_serves_every_declared_metric(settled):
    import requests

    text = requests.get(settled.served.base_url + "/metrics", timeout=10).text
    served = {f.name for f in text_string_to_metric_families(text)}
    declared = {s.name.removesuffix("_total") for s in SPECS}
    assert not declared - served, "declared but not served"
    # ...and nothing of ours is served that the README table (made from SPECS) leaves out.
    assert not {n for n in served if n.startswith("tgwebhook_")} - declared, "served, undeclared"
