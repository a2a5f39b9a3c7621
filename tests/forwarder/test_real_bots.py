"""Unmodified aiogram and python-telegram-bot bots behind a real `python app.py serve`, with the
simulator playing Telegram on both sides: it delivers to the appliance and records the calls."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import requests

from tests.helpers.forward_kit import forward_metric
from tests.helpers.real_bots import PHOTO, start_aiogram_bot, start_ptb_bot
from tests.helpers.support import BOT_TOKEN, SECRET, free_port, wait_until

FORWARD_SECRET = "bot-side-secret_42"
TEXTS = [("one", 5), ("two", 5), ("three", 6), ("four", 5), ("five", 6)]


def appliance_env(sim, forward_url: str, forward_secret: str) -> dict:
    return {
        "FORWARD_URL": forward_url,
        "FORWARD_SECRET_TOKEN": forward_secret,
        "BOT_TOKEN": BOT_TOKEN,
        "API_BASE": sim.base_url,
    }


def inject_texts(sim) -> list[int]:
    injected = sim.admin.inject(BOT_TOKEN, *({"text": t, "chat_id": c} for t, c in TEXTS))
    return [u["update_id"] for u in injected]


def echoes(sim) -> dict[str, list[str]]:
    """Texts of the sendMessage calls the simulator recorded, per chat, in call order."""
    found = defaultdict(list)
    for call in sim.admin.calls(BOT_TOKEN, method="sendMessage"):
        found[str(call["params"]["chat_id"])].append(call["params"]["text"])
    return found


def assert_handled_in_chat_order(seen: list[int], injected: list[int]) -> None:
    assert sorted(seen) == sorted(injected)
    for chat in (5, 6):
        ids = [uid for uid, (_, c) in zip(injected, TEXTS, strict=True) if c == chat]
        assert [uid for uid in seen if uid in ids] == ids


def test_aiogram_bot_receives_updates_and_its_webhook_replies_reach_telegram(sim, serve, real_bots):
    port = free_port()
    served = serve(env=appliance_env(sim, f"http://127.0.0.1:{port}/hook", FORWARD_SECRET))
    bot = start_aiogram_bot(BOT_TOKEN, sim.base_url, FORWARD_SECRET, port)
    real_bots.append(bot)
    answer = requests.post(
        sim.api_url(BOT_TOKEN, "setWebhook"),
        timeout=10,
        json={
            "url": f"{served.base_url}/webhook/default",
            "secret_token": SECRET,
        },
    ).json()
    assert answer["ok"], answer

    injected = inject_texts(sim)
    wait_until(lambda: len(bot.seen) == len(TEXTS), timeout=20)
    assert_handled_in_chat_order(bot.seen, injected)
    replies = wait_until(lambda: (e := echoes(sim)) and sum(map(len, e.values())) == 5 and e)
    assert replies == {
        "5": ["echo: one", "echo: two", "echo: four"],
        "6": ["echo: three", "echo: five"],
    }
    # The simulator records a reply before it answers; the forwarder counts after the answer.
    wait_until(lambda: forward_metric(served.base_url, "reply_ok") == 5, what="5 replies counted")
    wait_until(lambda: forward_metric(served.base_url, "delivered") == 5, what="5 delivered")


def test_an_aiogram_webhook_reply_uploading_a_photo_reaches_telegram_intact(sim, serve, real_bots):
    port = free_port()
    served = serve(env=appliance_env(sim, f"http://127.0.0.1:{port}/hook", FORWARD_SECRET))
    real_bots.append(start_aiogram_bot(BOT_TOKEN, sim.base_url, FORWARD_SECRET, port))
    requests.post(
        sim.api_url(BOT_TOKEN, "setWebhook"),
        timeout=10,
        json={
            "url": f"{served.base_url}/webhook/default",
            "secret_token": SECRET,
        },
    ).raise_for_status()
    sim.admin.inject(BOT_TOKEN, text="photo", chat_id=7)
    [call] = wait_until(lambda: sim.admin.calls(BOT_TOKEN, method="sendPhoto"), timeout=20)
    assert call["ok"], call
    assert (str(call["params"]["chat_id"]), call["params"]["caption"]) == ("7", "a cat")
    part = call["params"]["photo"].removeprefix("attach://")  # aiogram names the part
    assert call["files"][part] == {"size": len(PHOTO), "sha256": hashlib.sha256(PHOTO).hexdigest()}
    wait_until(lambda: forward_metric(served.base_url, "reply_ok") == 1, what="reply counted")


def test_python_telegram_bot_behind_the_appliance_sets_its_webhook_and_answers(
    sim, serve, real_bots
):
    # The bot keeps its own setup: it calls setWebhook with the appliance's URL and its secret,
    # and expects that same secret on the requests it receives.
    port = free_port()
    served = serve(env={**appliance_env(sim, f"http://127.0.0.1:{port}/hook", SECRET)})
    bot = start_ptb_bot(BOT_TOKEN, sim.base_url, SECRET, port, f"{served.base_url}/webhook/default")
    real_bots.append(bot)
    assert sim.admin.webhook_info(BOT_TOKEN)["url"] == f"{served.base_url}/webhook/default"

    injected = inject_texts(sim)
    wait_until(lambda: len(bot.seen) == len(TEXTS), timeout=20)
    assert_handled_in_chat_order(bot.seen, injected)
    replies = wait_until(lambda: (e := echoes(sim)) and sum(map(len, e.values())) == 5 and e)
    assert replies["5"] == ["echo: one", "echo: two", "echo: four"]
    assert forward_metric(served.base_url, "reply_ok") == 0  # PTB makes its own calls
