"""An unmodified polling echo bot (aiogram 3 or python-telegram-bot 22) whose only change is
its API base URL, run as its own process so a test can kill -9 it.

    python -m tests.helpers.polling_bot aiogram|ptb API_BASE TOKEN LOG [SLOW_SECONDS]

Each handled message appends "update_id chat_id text" to LOG (flushed at once), then the bot
replies with sendMessage. SLOW_SECONDS delays handling after the fetch (for kill -9 tests;
aiogram only then handles a batch before it polls again, so the batch is unconfirmed while it
is handled).
"""

from __future__ import annotations

import asyncio
import os
import sys


def record(log: str, update_id: int, chat_id: int, text: str) -> None:
    with open(log, "a") as sink:
        sink.write(f"{update_id} {chat_id} {text}\n")
        sink.flush()
        os.fsync(sink.fileno())


def run_aiogram(api_base: str, token: str, log: str, slow: float) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message, Update

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message, event_update: Update) -> None:
        if slow:
            await asyncio.sleep(slow)
        record(log, event_update.update_id, message.chat.id, message.text or "")
        await message.answer(f"echo {message.text}")

    # Slow mode handles a batch before polling again (aiogram's own option), so the batch is
    # fetched but unconfirmed while it is handled; by default aiogram confirms it at once.
    polling = dispatcher.start_polling(
        bot, handle_signals=False, polling_timeout=10, handle_as_tasks=not slow
    )
    asyncio.run(polling)


def run_ptb(api_base: str, token: str, log: str, slow: float) -> None:
    from telegram.ext import Application, MessageHandler, filters

    async def echo(update, context) -> None:
        if slow:
            await asyncio.sleep(slow)
        record(log, update.update_id, update.effective_chat.id, update.message.text or "")
        await context.bot.send_message(update.effective_chat.id, f"echo {update.message.text}")

    application = (
        Application.builder()
        .token(token)
        .base_url(f"{api_base}/bot")
        .base_file_url(f"{api_base}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(timeout=10)


if __name__ == "__main__":
    framework, api_base, token, log = sys.argv[1:5]
    slow = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    {"aiogram": run_aiogram, "ptb": run_ptb}[framework](api_base, token, log, slow)
