"""Real bot frameworks against the simulator: every answer must parse into their types.

python-telegram-bot 22 and aiogram 3 validate envelopes, error codes and objects strictly, so
this is the proof that the simulator's JSON is what Telegram sends.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from telegram import Bot as PtbBot
from telegram.error import InvalidToken, RetryAfter

from core.telegram import SECRET_HEADER

UPDATE_SPECS = [
    {"text": "/start deep-link", "chat_id": 5},
    {"type": "edited_message", "text": "fixed typo", "chat_id": -1001234567890},
    {"data": "btn:1", "chat_id": 5},
    {"query": "cats", "user_id": 5},
]


@pytest.fixture
def sim(make_sim):
    """Real-time simulator: inline queries live 30 s, as on Telegram, however slow the host."""
    return make_sim(time_factor=1.0)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def test_python_telegram_bot_parses_every_answer(sim, token, make_receiver):
    gate = threading.Event()  # hold deliveries so pending_update_count is stable
    receiver = make_receiver(gate=gate)
    sent = sim.admin.inject(token, *UPDATE_SPECS)

    async def scenario():
        async with PtbBot(token, base_url=f"{sim.base_url}/bot") as bot:
            me = await bot.get_me()
            updates = await bot.get_updates(timeout=0)
            assert await bot.set_webhook(
                receiver.url,
                secret_token="ptb-secret",
                max_connections=5,
                allowed_updates=["message"],
            )
            info = await bot.get_webhook_info()
            msg = await bot.send_message(chat_id=5, text="hello from PTB")
            assert await bot.send_chat_action(chat_id=5, action="typing")
            return me, updates, info, msg

    try:
        me, updates, info, msg = run(scenario())
    finally:
        gate.set()
    assert me.id == int(token.split(":")[0]) and me.is_bot and me.username.startswith("sim_")
    assert [u.update_id for u in updates] == [u["update_id"] for u in sent]
    assert updates[0].message.text == "/start deep-link" and updates[0].message.entities
    assert updates[1].edited_message.edit_date is not None
    assert updates[2].callback_query.data == "btn:1"
    assert updates[3].inline_query.query == "cats"
    assert (info.url, info.max_connections, info.allowed_updates) == (receiver.url, 5, ("message",))
    assert info.pending_update_count == 4  # getUpdates without an offset confirms nothing
    assert (msg.chat.id, msg.text, msg.from_user.id) == (5, "hello from PTB", me.id)


# PTB itself reads its deprecated int `retry_after` while building the message.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_python_telegram_bot_maps_errors(sim, token):
    sim.admin.add_fault("sendMessage", token=token, error_code=429, retry_after=3, times=1)

    async def scenario():
        async with PtbBot(token, base_url=f"{sim.base_url}/bot") as bot:
            with pytest.raises(RetryAfter) as retry:
                await bot.send_message(chat_id=5, text="x")
            sim.admin.revoke(token)
            with pytest.raises(InvalidToken):
                await bot.get_webhook_info()
            return retry.value

    assert "Retry in 3 seconds" in str(run(scenario()))


def aiogram_bot(sim, token) -> AiogramBot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(sim.base_url))
    return AiogramBot(token, session=session)


def test_aiogram_parses_every_answer(sim, token, make_receiver):
    receiver = make_receiver()
    sent = sim.admin.inject(token, *UPDATE_SPECS)

    async def scenario():
        bot = aiogram_bot(sim, token)
        try:
            me = await bot.get_me()
            updates = await bot.get_updates(timeout=0)
            assert await bot.set_webhook(
                receiver.url,
                secret_token="aiogram-secret",
                allowed_updates=["message", "callback_query"],
            )
            info = await bot.get_webhook_info()
            msg = await bot.send_message(chat_id=5, text="hello from aiogram")
            assert await bot.answer_callback_query("123456789")
            return me, updates, info, msg
        finally:
            await bot.session.close()

    me, updates, info, msg = run(scenario())
    assert me.id == int(token.split(":")[0]) and me.is_bot
    assert [u.update_id for u in updates] == [u["update_id"] for u in sent]
    assert [u.event_type for u in updates] == [
        "message",
        "edited_message",
        "callback_query",
        "inline_query",
    ]
    assert info.url == receiver.url and info.max_connections == 40
    assert info.allowed_updates == ["message", "callback_query"]
    assert (msg.chat.id, msg.text) == (5, "hello from aiogram")
    hit = receiver.wait_for(1)[0]
    assert hit.headers[SECRET_HEADER] == "aiogram-secret"


def test_aiogram_maps_errors(sim, token):
    sim.admin.add_fault("getWebhookInfo", token=token, error_code=429, retry_after=2, times=1)

    async def scenario():
        bot = aiogram_bot(sim, token)
        try:
            with pytest.raises(TelegramRetryAfter) as retry:
                await bot.get_webhook_info()
            sim.admin.revoke(token)
            with pytest.raises(TelegramUnauthorizedError):
                await bot.get_me()
            return retry.value
        finally:
            await bot.session.close()

    assert run(scenario()).retry_after == 2
