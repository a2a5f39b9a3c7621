"""aiogram 3 webhook in background mode with a no-op handler: the peer figure to beat.

Background mode answers before the handler runs and persists nothing (what we compare against).
Usage: python bench/peers/aiogram_peer.py PORT SECRET
"""

import sys

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2]
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def ignore(message) -> None:  # a no-op handler, as a bot that does nothing would
        return None

    app = web.Application()
    SimpleRequestHandler(
        dispatcher, Bot(TOKEN), secret_token=secret, handle_in_background=True
    ).register(app, path="/webhook/default")
    setup_application(app, dispatcher)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
