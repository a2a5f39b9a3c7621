"""`python app.py set-webhook | delete-webhook | info | alerts` against the simulator."""

from __future__ import annotations

import json
import stat
import time

import pytest

import app
from core.config import load_settings
from core.storage import AlertState, open_store
from monitor import alerts
from monitor.rules import CRITICAL, Finding
from tests.helpers.support import SECRET, wait_until


def run(capsys, *argv: str) -> tuple[int, str]:
    code = app.main(list(argv))
    return code, capsys.readouterr().out


def test_set_webhook_without_a_secret_generates_one_into_a_private_file(
    env, capsys, sim, token, tmp_path
):
    code, out = run(capsys, "set-webhook", "--json")
    result = json.loads(out)
    path = tmp_path / "data" / "secret_token.default"
    assert code == 0 and result["secret_token_file"] == str(path) and result["secret_created"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 40 and set(secret) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    webhook = sim.admin.webhook_info(token)
    assert webhook["secret_token"] == secret
    assert webhook["url"] == env()["PUBLIC_URL"] + "/webhook/default"
    assert str(path) in result["next_step"]
    # The appliance then reads its secret from that file, with nothing more configured.
    assert load_settings().bots["default"].secret_token.reveal() == secret


def test_a_configured_secret_wins_over_a_generated_one(env, capsys, sim, token):
    run(capsys, "set-webhook", "--json")
    env(secret_token=SECRET)
    assert load_settings().bots["default"].secret_token.reveal() == SECRET


def test_set_webhook_will_not_generate_a_secret_for_a_shared_postgresql_store(
    env, capsys, sim, token, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    env(db="postgresql://tg:hunter2@127.0.0.1:1/tg")
    code, out = run(capsys, "set-webhook", "--json")
    assert code == 1 and "every replica needs the same one" in json.loads(out)["error"]
    assert "hunter2" not in out
    assert list(tmp_path.iterdir()) == []  # nothing written (once, a folder named after the URL)
    assert sim.admin.webhook_info(token)["url"] == ""  # and Telegram was not called


def test_set_webhook_again_reuses_the_generated_secret(env, capsys, sim, token):
    run(capsys, "set-webhook", "--json")
    first = sim.admin.webhook_info(token)["secret_token"]
    time.sleep(0.05)  # the simulator allows one setWebhook per (scaled) second
    code, out = run(capsys, "set-webhook", "--json")
    assert code == 0 and "secret_created" not in json.loads(out)  # read, as configured
    assert sim.admin.webhook_info(token)["secret_token"] == first


def test_set_webhook_passes_the_configured_webhook_settings(env, capsys, sim, token):
    env(secret_token=SECRET, max_connections=7, allowed_updates="message,callback_query")
    sim.admin.inject(token, text="waiting", chat_id=3)
    code, out = run(capsys, "set-webhook", "--drop-pending-updates")
    webhook = sim.admin.webhook_info(token)
    assert code == 0 and webhook["secret_token"] == SECRET
    assert (webhook["max_connections"], webhook["pending_update_count"]) == (7, 0)
    assert sorted(webhook["allowed_updates"]) == ["callback_query", "message"]
    assert "webhook of default set to" in out and "max connections" in out


def test_set_webhook_without_a_public_url_says_what_to_set(env, capsys):
    env(public_url="", secret_token=SECRET)
    code, out = run(capsys, "set-webhook")
    assert code == 1 and "TGWEBHOOK_PUBLIC_URL" in out


def test_info_explains_a_delivery_error(env, capsys, sim, token):
    env(secret_token=SECRET)
    run(capsys, "set-webhook")  # nothing listens on the public URL's port
    sim.admin.inject(token, text="hello", chat_id=3)
    wait_until(lambda: sim.admin.webhook_info(token).get("last_error_date"))
    code, out = run(capsys, "info", "--json")
    [info] = json.loads(out)
    assert code == 0 and info["url_matches"] is True
    assert (info["error_class"], info["pending_update_count"]) == ("connection", 1)
    assert "firewall" in info["advice"]
    code, out = run(capsys, "info")
    assert "error class" in out and "Connection refused" in out and "firewall" in out


def test_info_with_a_revoked_token_fails_without_showing_the_token(env, capsys, sim, token):
    sim.admin.revoke(token)
    code, out = run(capsys, "info")
    assert code == 1 and "401" in out and token.split(":")[1] not in out


def test_delete_webhook(env, capsys, sim, token):
    env(secret_token=SECRET)
    run(capsys, "set-webhook")
    code, out = run(capsys, "delete-webhook")
    assert code == 0 and "OK" in out
    assert sim.admin.webhook_info(token)["url"] == ""


def test_an_unknown_bot_is_a_usage_error(env, capsys):
    env(secret_token=SECRET)
    with pytest.raises(SystemExit) as caught:
        app.main(["info", "--bot", "nope"])
    assert caught.value.code == 2


def test_alerts_shows_what_fires_and_the_history_with_each_channel(env, capsys):
    values = env(secret_token=SECRET)
    store = open_store(values["DB"])
    finding = Finding("default", "receiver_silent", CRITICAL, "nothing arrives")
    fire = alerts.transition(AlertState("default", "receiver_silent"), finding, time.time(), 0)
    store.save_transition(fire, 0, ["webhook", "email"])
    store.close()
    code, out = run(capsys, "alerts")
    assert code == 0 and "Firing now: 1" in out
    assert "default/receiver_silent" in out and "webhook:pending email:pending" in out
    code, out = run(capsys, "alerts", "--json", "--limit", "5")
    document = json.loads(out)
    assert [s["alert"] for s in document["firing"]] == ["receiver_silent"]
    [row] = document["history"]
    assert row["kind"] == "fire" and [n["channel"] for n in row["notifications"]] == [
        "webhook",
        "email",
    ]
