"""The Bot API row's polling panels and TgwebhookGetUpdatesStale, run by a real Prometheus against
a real appliance in poll mode (test_live_queries.py's appliance forwards, so it has no
getUpdates queue).

The simulator delivers to `python app.py serve` without a forward URL; a bot polls once through
the proxy, confirming part of what it got, and the rest stays pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests

from simulator.harness import start_simulator
from tests.helpers.grafana_kit import (
    PROMETHEUS_DIR,
    RATE_INTERVAL,
    load_rules,
    panel_queries,
    selectors,
    start_prometheus,
    substitute,
)
from tests.helpers.live_stack import Live, set_webhook, start_appliance
from tests.helpers.support import BOT_TOKEN, SECRET, free_port

POLLING_METRICS = ("tgwebhook_getupdates_pending", "tgwebhook_getupdates_last_poll_timestamp")
POLLING_PANELS = [q for q in panel_queries() if any(m in q.expr for m in POLLING_METRICS)]


@pytest.fixture(scope="module")
def polling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-polling")
    with ExitStack() as stack:
        sim = stack.enter_context(start_simulator(local=True))
        env = {"TGWEBHOOK_BOT_TOKEN": BOT_TOKEN, "TGWEBHOOK_API_BASE": sim.base_url}
        served = start_appliance(tmp, env)
        stack.callback(served.stop)
        target = served.base_url.removeprefix("http://")
        prometheus = start_prometheus(
            tmp / "prometheus", free_port(), target, PROMETHEUS_DIR / "alerts.yml"
        )
        stack.callback(prometheus.stop)
        set_webhook(sim, BOT_TOKEN, served.base_url + "/webhook/default", SECRET)
        sent = [sim.admin.inject(BOT_TOKEN, text=f"hi {i}", chat_id=101)[0] for i in range(3)]
        sim.admin.wait_delivered(BOT_TOKEN, len(sent), timeout=20)
        poll = f"{served.base_url}/bot{BOT_TOKEN}/getUpdates"
        got = requests.post(poll, json={"timeout": 0}, timeout=10).json()["result"]
        assert [u["update_id"] for u in got] == [u["update_id"] for u in sent]
        offset = {"offset": got[1]["update_id"], "timeout": 0}  # confirms the first only
        assert len(requests.post(poll, json=offset, timeout=10).json()["result"]) == 2
        prometheus.wait_for('tgwebhook_getupdates_pending{bot="default"} == 2')
        values = {"job": "tgwebhook", "instance": target, "bot": "default"}
        yield Live(prometheus, served, {**values, "__rate_interval": RATE_INTERVAL})


def test_the_row_has_polling_panels_on_both_dashboards():
    assert {q.where.split(" / ")[1] for q in POLLING_PANELS} == {"Overview", "Bot"}


@pytest.mark.parametrize("query", POLLING_PANELS, ids=[q.where for q in POLLING_PANELS])
def test_polling_panel_query_returns_data(polling, query):
    expr = substitute(query.expr, polling.values)
    assert polling.prometheus.query(expr), f"panel '{query.where}' shows no data: {expr}"


def test_the_stale_polling_alert_matches_live_series_and_stays_quiet(polling):
    rule = next(r for r in load_rules() if r["alert"] == "TgwebhookGetUpdatesStale")
    for selector in selectors(rule["expr"]):
        assert polling.prometheus.query(selector), f"{selector} matches nothing"
    assert not polling.prometheus.query(rule["expr"])  # 2 pending, polled just now
