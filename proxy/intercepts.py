"""Calls a polling bot makes at start that would break the appliance if Telegram got them:
answered here and logged, never passed on (docs/proxy.md, "What is intercepted")."""

from __future__ import annotations

import asyncio
import logging
import time

from core.storage import PollStore
from proxy import envelope
from proxy.envelope import Answer
from proxy.params import Params
from proxy.polling import NOT_BY_DEFAULT

log = logging.getLogger("tgwebhook.proxy")
# Methods answered here for a polling bot (lower case, as Telegram dispatches them).
LOCAL = frozenset({"deletewebhook", "setwebhook", "logout", "close", "getwebhookinfo"})


async def answer(
    store: PollStore, bot: str, method: str, params: Params, honour: tuple, known: tuple
) -> Answer:
    """`honour` is TGWEBHOOK_PROXY_HONOUR (drop_pending_updates, logOut, close)."""
    if method == "getwebhookinfo":
        return await webhook_info(store, bot, known)
    log.info("proxy: answered %s of bot %s locally (not passed to Telegram)", method, bot)
    drop = params.flag("drop_pending_updates") and "drop_pending_updates" in honour
    if method in ("deletewebhook", "setwebhook") and drop:
        await asyncio.to_thread(store.confirm_all_but, bot, 0, time.time())
    if method == "deletewebhook" or (method == "setwebhook" and not params.text("url")):
        return envelope.ok(True, "Webhook is already deleted")
    if method == "setwebhook":
        return envelope.ok(True, "Webhook is managed by tgwebhook; nothing changed")
    return envelope.ok(True)  # logOut, close: the appliance keeps using the bot


def passes(method: str, honour: tuple) -> bool:
    """logOut and close reach Telegram only when TGWEBHOOK_PROXY_HONOUR names them."""
    return {"logout": "logOut", "close": "close"}.get(method) in honour


async def webhook_info(store: PollStore, bot: str, known: tuple) -> Answer:
    """What Telegram tells a polling bot: no URL, its unconfirmed updates."""
    pending = await asyncio.to_thread(store.unconfirmed_count, bot)
    cursor = await asyncio.to_thread(store.poll_cursor, bot)
    info: dict = {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    if cursor.allowed_updates and set(cursor.allowed_updates) != set(known) - NOT_BY_DEFAULT:
        info["allowed_updates"] = list(cursor.allowed_updates)
    return envelope.ok(info)
