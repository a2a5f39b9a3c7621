"""The operator console in a real browser: headless Chromium (tests/helpers/browser.py) against
a real `python app.py serve` whose ops listener is not loopback (so credentials are required),
fed by the simulator, forwarding to a bot backend that fails one chat until it is healed.

What the issue asks to see: pages load without console errors; the overview's numbers match
/metrics and the store and refresh without a reload; a dead letter is replayed from the page
after a typed confirmation, reaches the bot and is audited; a viewer cannot replay; a canary in
an update's text never reaches a viewer; no credentials, no console. Screenshots of each page
(desktop and phone) go to $TGWEBHOOK_SCREENSHOTS (docs/console for the committed ones).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core.storage import DEAD, Store, open_store
from simulator.harness import Simulator, start_simulator
from tests.helpers.browser import DESKTOP, PHONE, Browser, basic, open_browser
from tests.helpers.live_stack import set_webhook, start_appliance
from tests.helpers.support import BOT_TOKEN, SECRET, Served, free_port, wait_until

pytestmark = pytest.mark.timeout(300)

OPS_TOKEN = "ops-token-for-the-browser-tests"
OPERATOR = ("olga", "operator-password")
VIEWER = ("victor", "viewer-password")
FAILING_CHAT = 666  # the backend answers 500 for this chat while `failing` is set
CHATS = (101, 102, 103)
CANARY = "canary-c0ns0le-7f3a"
PAGES = ("/", "/dead-letters", "/alerts", "/updates", "/audit")
API = ("/api/session", "/api/overview", "/api/dead-letters", "/api/updates", "/api/alerts")
API_MORE = ("/api/audit", "/api/dead-letters/count")


@dataclass
class Backend:
    """The bot: records every update it accepted; fails FAILING_CHAT while `failing`."""

    server: ThreadingHTTPServer
    url: str
    failing: bool = True
    received: list[dict] = field(default_factory=list)

    def accepted(self, update_id: int) -> bool:
        return any(update.get("update_id") == update_id for update in list(self.received))


def start_backend() -> Backend:
    port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            update = json.loads(body or b"{}") if self.path == "/webhook" else {}
            chat = update.get("message", {}).get("chat", {}).get("id")
            status = 500 if backend.failing and chat == FAILING_CHAT else 200
            if status == 200 and self.path == "/webhook":
                backend.received.append(update)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    backend = Backend(server, f"http://127.0.0.1:{port}")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return backend


@dataclass
class Stack:
    sim: Simulator
    backend: Backend
    served: Served
    ops: str  # the ops listener's URL (it listens on 0.0.0.0: not loopback)
    store: Store


def users_file(path: Path) -> Path:
    lines = [
        f"{name}:{role}:sha256:{hashlib.sha256(password.encode()).hexdigest()}"
        for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer"))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_serve(tmp: Path, env: dict[str, str], port: int) -> tuple[Served, str]:
    ops_port = free_port()
    listen = {"TGWEBHOOK_OPS_LISTEN": f"0.0.0.0:{ops_port}", **env}
    served = start_appliance(tmp, listen, port=port, name="console", ops_token=OPS_TOKEN)
    return served, f"http://127.0.0.1:{ops_port}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    with ExitStack() as stack:
        sim = stack.enter_context(start_simulator(local=True))
        backend = start_backend()
        stack.callback(backend.server.server_close)
        stack.callback(backend.server.shutdown)
        env = {
            "TGWEBHOOK_BOT_TOKEN": BOT_TOKEN,
            "TGWEBHOOK_API_BASE": sim.base_url,
            "TGWEBHOOK_FORWARD_URL": backend.url + "/webhook",
            "TGWEBHOOK_ALERT_WEBHOOK_URL": backend.url + "/alerts",
            "TGWEBHOOK_POLL_INTERVAL_SECONDS": "1",
            "TGWEBHOOK_SAMPLE_INTERVAL_SECONDS": "1",
            "TGWEBHOOK_FORWARD_MAX_ATTEMPTS": "2",
            "TGWEBHOOK_FORWARD_BACKOFF_CAP_SECONDS": "0.1",
            "TGWEBHOOK_FORWARD_TIMEOUT_SECONDS": "2",
            "TGWEBHOOK_HTTP_TIMEOUT_SECONDS": "2",
            "TGWEBHOOK_OPS_TOKEN": OPS_TOKEN,
            "TGWEBHOOK_OPS_USERS_FILE": str(users_file(tmp / "users")),
        }
        port = free_port()
        # Registered first, as `make run` does: the monitor's first poll finds the webhook set.
        set_webhook(sim, BOT_TOKEN, f"http://127.0.0.1:{port}/webhook/default", SECRET)
        served, ops = start_serve(tmp, env, port)
        stack.callback(served.stop)
        store = open_store(str(served.db))
        stack.callback(store.close)
        yield Stack(sim, backend, served, ops, store)


@pytest.fixture
def operator(stack: Stack) -> Iterator[Browser]:
    with open_browser(stack.ops, basic(*OPERATOR)) as browser:
        yield browser


@pytest.fixture
def viewer(stack: Stack) -> Iterator[Browser]:
    with open_browser(stack.ops, basic(*VIEWER)) as browser:
        yield browser


# -- helpers -------------------------------------------------------------------------------
def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPS_TOKEN}"}


def send(stack: Stack, text: str, chat: int) -> int:
    """Telegram (the simulator) delivers one message; its update_id."""
    return stack.sim.admin.inject(BOT_TOKEN, text=text, chat_id=chat)[0]["update_id"]


def state_of(stack: Stack, update_id: int) -> str | None:
    row = stack.store.get_update("default", update_id)
    return row["state"] if row else None


def make_dead_letter(stack: Stack, text: str = "doomed") -> tuple[int, int]:
    """A dead letter of the failing chat (with a healthy update beside it, so the bot is not
    down for everyone): (update_id, row id)."""
    stack.backend.failing = True
    doomed = send(stack, text, FAILING_CHAT)
    healthy = send(stack, f"fine beside {text}", CHATS[0])
    wait_until(lambda: state_of(stack, doomed) == DEAD, timeout=30, what="dead letter")
    wait_until(lambda: stack.backend.accepted(healthy), timeout=30, what="healthy delivery")
    return doomed, int(stack.store.get_update("default", doomed)["id"])


def settle(stack: Stack) -> None:
    """Nothing in flight: every update is delivered or dead."""
    wait_until(
        lambda: stack.store.queue_stats(["default"], time.time())[0].depth == 0,
        timeout=30,
        what="empty queue",
    )


def metric(stack: Stack, name: str) -> float:
    text = requests.get(stack.ops + "/metrics", headers=bearer(), timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("bot") == "default":
                return sample.value
    raise AssertionError(f"{name} not on /metrics")


def card_field(browser: Browser, name: str) -> str:
    return browser.find(f'.bot-card[data-bot="default"] [data-field="{name}"]').text.strip()


def as_viewer(stack: Stack) -> requests.Session:
    session = requests.Session()
    session.auth = VIEWER
    return session


def utc_field(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%S")


# -- the tests -----------------------------------------------------------------------------
def test_the_overview_loads_clean_and_its_numbers_match_metrics_and_the_store(stack, operator):
    for i in range(6):
        send(stack, f"hello {i}", CHATS[i % len(CHATS)])
    make_dead_letter(stack)
    settle(stack)

    operator.open("/")

    stats = stack.store.queue_stats(["default"], time.time())[0]
    assert int(card_field(operator, "dead-letters")) == stats.dead_letters >= 1
    assert metric(stack, "tgwebhook_dead_letters") == stats.dead_letters
    assert int(card_field(operator, "queue-depth")) == stats.depth == 0
    assert metric(stack, "tgwebhook_queue_depth") == 0
    assert operator.find("#overall-status").get_attribute("data-status") in ("pass", "warn")
    operator.wait_for(
        lambda: operator.find_all('.chart[data-chart="received"] svg polyline'),
        "a chart line drawn from the stored samples",
    )
    assert operator.console_errors() == []


def test_the_overview_refreshes_itself_without_a_reload(stack, operator):
    operator.open("/")
    operator.script("window.keptAcrossRefreshes = 'same page'")
    before = operator.find("#last-updated").get_attribute("data-at")
    shown = int(card_field(operator, "dead-letters"))

    make_dead_letter(stack, "refresh me")

    operator.wait_for(
        lambda: card_field(operator, "dead-letters") == str(shown + 1), "the new dead letter"
    )
    assert operator.find("#last-updated").get_attribute("data-at") != before
    assert operator.script("return window.keptAcrossRefreshes") == "same page"
    assert operator.console_errors() == []


def test_a_dead_letter_is_replayed_from_the_page_after_confirmation_and_audited(stack, operator):
    update_id, row_id = make_dead_letter(stack, "replay me")
    since = utc_field(stack.store.get_update("default", update_id)["received_at"])
    operator.open(f"/dead-letters?bot=default&since={since}")
    row = operator.find(f'tr.dead-letter[data-id="{row_id}"]')
    assert row.find_element("css selector", ".error-class").text  # the error, inline
    stack.backend.failing = False  # the bot is fixed; now the operator replays
    try:
        operator.find('#bulk-form button[data-action="bulk-replay"]').click()
        expected = operator.find("#confirm-input").get_attribute("data-expected")
        assert operator.find("#dry-run-count").get_attribute("data-count") == expected
        operator.find("#confirm-input").send_keys(expected)
        operator.find('button[data-action="confirm"]').click()

        wait_until(lambda: stack.backend.accepted(update_id), timeout=30, what="replayed")
    finally:
        stack.backend.failing = True
    operator.open("/audit")
    entry = operator.find('tr.audit-row[data-action*="replay"]')
    assert entry.find_element("css selector", '[data-field="actor"]').text == OPERATOR[0]
    assert int(entry.find_element("css selector", '[data-field="matched"]').text) >= 1
    assert operator.console_errors() == []


def test_a_viewer_has_no_replay_button_and_the_api_refuses_them(stack, viewer):
    update_id, row_id = make_dead_letter(stack, "not yours to replay")

    viewer.open("/dead-letters")
    viewer.find(f'tr.dead-letter[data-id="{row_id}"]')
    assert viewer.find_all("[data-action]") == []
    assert viewer.find("#role").text == "viewer"

    session = as_viewer(stack)
    token = session.get(stack.ops + "/api/session", timeout=10).json()["csrf_token"]
    answer = session.post(
        stack.ops + "/api/dead-letters/replay",
        json={"ids": [row_id]},
        headers={"X-CSRF-Token": token},
        timeout=10,
    )
    assert answer.status_code == 403
    assert state_of(stack, update_id) == DEAD
    assert viewer.console_errors() == []


def test_a_canary_in_an_update_never_reaches_a_viewer(stack, viewer):
    update_id, row_id = make_dead_letter(stack, f"my secret is {CANARY}")
    session = as_viewer(stack)
    paths = PAGES + API + API_MORE + (f"/updates/{row_id}", f"/api/updates/{row_id}")

    for path in paths:
        answer = session.get(stack.ops + path, timeout=10)
        assert answer.status_code == 200, path
        assert CANARY not in answer.text, path
    viewer.open(f"/updates/{row_id}")
    assert viewer.find("#update-body").get_attribute("data-revealed") == "false"
    assert CANARY not in viewer.driver.page_source
    token = session.get(stack.ops + "/api/session", timeout=10).json()["csrf_token"]
    refused = session.post(
        stack.ops + f"/api/updates/{row_id}/reveal", headers={"X-CSRF-Token": token}, timeout=10
    )
    assert refused.status_code == 403 and CANARY not in refused.text
    # The canary is there to find: an operator's (audited) reveal shows it.
    operator = requests.Session()
    operator.auth = OPERATOR
    token = operator.get(stack.ops + "/api/session", timeout=10).json()["csrf_token"]
    revealed = operator.post(
        stack.ops + f"/api/updates/{row_id}/reveal", headers={"X-CSRF-Token": token}, timeout=10
    )
    assert CANARY in revealed.json()["body"]


@pytest.mark.parametrize("path", PAGES + API + ("/metrics", "/health"))
def test_without_credentials_the_non_loopback_ops_listener_answers_401(stack, path):
    nobody = requests.get(stack.ops + path, timeout=10)
    wrong = requests.get(stack.ops + path, auth=(VIEWER[0], "not-the-password"), timeout=10)

    assert nobody.status_code == wrong.status_code == 401
    assert "WWW-Authenticate" in nobody.headers


def test_without_credentials_no_action_is_taken(stack):
    update_id, row_id = make_dead_letter(stack, "nobody may touch")

    answer = requests.post(
        stack.ops + "/api/dead-letters/replay", json={"ids": [row_id]}, timeout=10
    )

    assert answer.status_code == 401
    assert state_of(stack, update_id) == DEAD
    assert requests.get(stack.ops + "/livez", timeout=10).status_code == 200


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_screenshots_of_every_page(stack, size):
    make_dead_letter(stack, "pictured")
    wait_until(
        lambda: requests.get(stack.ops + "/api/alerts", headers=bearer(), timeout=10).json()[
            "alerts"
        ],
        timeout=30,
        what="an alert in the history",
    )
    with open_browser(stack.ops, basic(*OPERATOR), size) as browser:
        browser.open("/")
        browser.wait_for(
            lambda: browser.find_all(".chart svg polyline"), "charts with lines", timeout=30
        )
        shots = [browser.screenshot("overview")]
        browser.open("/dead-letters")
        browser.find("tr.dead-letter")
        shots.append(browser.screenshot("dead-letters"))
        browser.find('#bulk-form button[data-action="bulk-replay"]').click()
        browser.find("#confirm-input")
        shots.append(browser.screenshot("bulk-confirmation"))
        for page in ("alerts", "updates"):
            browser.open(f"/{page}")
            browser.find(f"#{page}-table")
            shots.append(browser.screenshot(page))
        assert browser.console_errors() == []
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
