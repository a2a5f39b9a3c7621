"""Unmodified aiogram 3 and python-telegram-bot 22 webhook bots, each on its own event loop
thread, with their Bot API base pointed at the simulator. Both echo every text message:
aiogram by returning the call as a webhook reply, PTB by calling sendMessage itself. To the
text "photo", aiogram answers with a webhook reply that uploads PHOTO."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Message, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from telegram.ext import Application, MessageHandler, filters

START_TIMEOUT = 15.0
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64  # binary, with CRLFs and NULs


@dataclass
class RunningBot:
    url: str  # where the appliance forwards to
    seen: list[int] = field(default_factory=list)  # update_ids the handler ran for, in order
    stop: Callable[[], None] = lambda: None


class LoopThread:
    """An asyncio loop in a daemon thread; `run` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = START_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def start_aiogram_bot(token: str, api_base: str, secret: str, port: int) -> RunningBot:
    running = RunningBot(url=f"http://127.0.0.1:{port}/hook")
    loop = LoopThread()

    async def start() -> Callable[[], Awaitable[None]]:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
        dispatcher = Dispatcher()

        @dispatcher.message()
        async def echo(message: Message, event_update: Update) -> SendMessage | SendPhoto:
            running.seen.append(event_update.update_id)
            if message.text == "photo":
                upload = BufferedInputFile(PHOTO, filename="cat.png")
                return SendPhoto(chat_id=message.chat.id, photo=upload, caption="a cat")
            return SendMessage(chat_id=message.chat.id, text=f"echo: {message.text}")

        app = web.Application()
        SimpleRequestHandler(
            dispatcher, bot, handle_in_background=False, secret_token=secret
        ).register(app, path="/hook")
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

        async def stop() -> None:
            await runner.cleanup()
            await bot.session.close()

        return stop

    stop = loop.run(start())
    running.stop = lambda: (loop.run(stop()), loop.close())
    return running


def start_ptb_bot(
    token: str, api_base: str, secret: str, port: int, webhook_url: str
) -> RunningBot:
    """PTB calls setWebhook itself: with `webhook_url` = the appliance, as a user would."""
    running = RunningBot(url=f"http://127.0.0.1:{port}/hook")
    loop = LoopThread()

    async def echo(update, context) -> None:
        running.seen.append(update.update_id)
        await update.message.reply_text(f"echo: {update.message.text}")

    async def start() -> Application:
        application = Application.builder().token(token).base_url(f"{api_base}/bot").build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        await application.initialize()
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            secret_token=secret,
            webhook_url=webhook_url,
        )
        await application.start()
        return application

    async def stop(application: Application) -> None:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()

    application = loop.run(start())
    running.stop = lambda: (loop.run(stop(application)), loop.close())
    return running
