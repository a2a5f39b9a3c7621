"""python-telegram-bot 22 webhook server with a no-op handler (peer figure).

PTB calls getMe and setWebhook at start, so its Bot API is the simulator (never Telegram).
Usage: python bench/peers/ptb_peer.py PORT SECRET API_BASE
"""

import sys

from telegram import Update
from telegram.ext import Application, TypeHandler

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


async def ignore(update: Update, context) -> None:
    return None


def main() -> None:
    port, secret, api_base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    application = Application.builder().token(TOKEN).base_url(f"{api_base}/bot").build()
    application.add_handler(TypeHandler(Update, ignore))
    application.run_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="webhook/default",
        secret_token=secret,
        webhook_url=f"http://127.0.0.1:{port}/webhook/default",
    )


if __name__ == "__main__":
    main()
