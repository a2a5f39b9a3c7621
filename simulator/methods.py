"""The Bot API methods the simulator implements, answering like Telegram (results and errors)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from simulator import policy, webhook_settings
from simulator.delivery import wait_event
from simulator.envelope import ApiError, bad_request, too_many_requests
from simulator.params import Params
from simulator.state import Bot, SimConfig

Result = tuple[Any, str | None]
Handler = Callable[[SimConfig, Bot, Params], Awaitable[Result]]

GET_UPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
MAX_TEXT = 4096
BOT_CAPABILITIES = {
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
    "supports_guest_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
    "has_topics_enabled": False,
    "allows_users_to_create_topics": False,
    "can_manage_bots": False,
}


async def get_me(config: SimConfig, bot: Bot, params: Params) -> Result:
    return {**bot.user, **BOT_CAPABILITIES}, None


async def set_webhook(config: SimConfig, bot: Bot, params: Params) -> Result:
    if not params.text("url"):
        return await delete_webhook(config, bot, params)
    now = time.monotonic()
    if now < bot.next_set_webhook_at:
        raise too_many_requests(1)  # Telegram allows one setWebhook per second per bot
    bot.next_set_webhook_at = now + config.time_factor
    drop = params.flag("drop_pending_updates")
    allowed = policy.normalize_allowed_updates(params.decoded("allowed_updates"))
    try:
        settings = webhook_settings.parse(params, config.local)
    except ApiError:
        await _close_current(bot, drop)
        raise
    if settings.same_as(bot.delivery.settings) and not drop:
        bot.allowed = allowed or bot.allowed
        return True, "Webhook is already set"
    await _close_current(bot, drop)
    refused = webhook_settings.check(settings, config.local)
    if refused is not None:
        raise refused
    ip = await webhook_settings.resolve(settings, config.local)
    bot.allowed = allowed or bot.allowed
    await bot.delivery.set_webhook(settings, ip)
    return True, "Webhook was set"


async def _close_current(bot: Bot, drop_pending: bool) -> None:
    # Telegram closes the current webhook before validating the new one: a rejected
    # setWebhook leaves the bot with no webhook at all.
    await bot.delivery.delete_webhook()
    if drop_pending:
        await bot.delivery.clear()


async def delete_webhook(config: SimConfig, bot: Bot, params: Params) -> Result:
    was_set = bot.delivery.settings is not None
    await bot.delivery.delete_webhook()
    if params.flag("drop_pending_updates"):
        await bot.delivery.clear()
    return True, "Webhook was deleted" if was_set else "Webhook is already deleted"


async def get_webhook_info(config: SimConfig, bot: Bot, params: Params) -> Result:
    return webhook_info(bot), None


def webhook_info(bot: Bot) -> dict[str, Any]:
    """Field order and omissions as Telegram's JsonWebhookInfo."""
    delivery, settings = bot.delivery, bot.delivery.settings
    info: dict[str, Any] = {
        "url": settings.url if settings else "",
        "has_custom_certificate": bool(settings and settings.certificate),
        "pending_update_count": delivery.pending_count(),
    }
    if delivery.last_error_date:
        info["last_error_date"] = delivery.last_error_date
        info["last_error_message"] = delivery.last_error_message
    if settings is not None:
        info["max_connections"] = settings.max_connections
        info["ip_address"] = delivery.ip or "<unknown>"
    if bot.allowed != policy.DEFAULT_ALLOWED:
        info["allowed_updates"] = policy.allowed_list(bot.allowed)
    if bot.sync_error_date:
        info["last_synchronization_error_date"] = bot.sync_error_date
    return info


async def get_updates(config: SimConfig, bot: Bot, params: Params) -> Result:
    if bot.delivery.settings is not None:
        raise ApiError(409, GET_UPDATES_CONFLICT)
    allowed = policy.normalize_allowed_updates(params.decoded("allowed_updates"))
    bot.allowed = allowed or bot.allowed
    offset = params.integer("offset")
    limit = min(max(params.integer("limit", 100), 1), 100)
    timeout = min(max(params.integer("timeout"), 0), 50)
    pending = bot.delivery.pending_updates()
    if offset < 0 and len(pending) > -offset:
        bot.delivery.confirm_below(pending[offset].update_id)  # keep the newest |offset|
    elif 0 < offset <= bot.next_update_id + 10:
        # As with Telegram, an offset confirms (forgets) every update below it; one far in
        # the future is ignored (read from the head, nothing forgotten).
        bot.delivery.confirm_below(offset)
    deadline = time.monotonic() + timeout
    while True:
        bot.delivery.arrived.clear()
        pending = bot.delivery.pending_updates()
        left = deadline - time.monotonic()
        if pending or left <= 0:
            return [item.update for item in pending[:limit]], None
        await wait_event(bot.delivery.arrived, left)


def chat_id_arg(params: Params) -> int:
    raw = params.text("chat_id").strip()
    if not raw:
        raise bad_request("chat_id is empty")
    try:
        chat_id = int(raw)
    except ValueError:
        chat_id = 0  # @usernames are not resolvable here
    if chat_id == 0:
        raise bad_request("chat not found")
    return chat_id


async def send_message(config: SimConfig, bot: Bot, params: Params) -> Result:
    chat_id = chat_id_arg(params)
    text = params.text("text")
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return bot.factory.bot_message(chat_id, text, params.decoded("reply_markup")), None


def sent_file(params: Params, field: str) -> dict[str, Any]:
    """The file a send method got: an upload (multipart, under the field's name or named by
    `attach://<part>` as aiogram does) or a file_id / URL string."""
    data = params.files.get(field)
    reference = params.text(field)
    if data is None and reference.startswith("attach://"):
        data = params.files.get(reference.removeprefix("attach://"))
        if data is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
    if data is None:
        if not reference:
            raise bad_request(f"there is no {field} in the request")
        data = reference.encode()
    digest = hashlib.sha256(data).hexdigest()
    return {
        "file_id": "BQACAgI" + digest[:40],
        "file_unique_id": "AgAD" + digest[:12],
        "file_size": len(data),
    }


def media_message(bot: Bot, params: Params, field: str, media: Any) -> Result:
    msg = bot.factory.bot_message(chat_id_arg(params), "", params.decoded("reply_markup"))
    del msg["text"]
    msg[field] = media
    if params.text("caption"):
        msg["caption"] = params.text("caption")
    return msg, None


async def send_document(config: SimConfig, bot: Bot, params: Params) -> Result:
    return media_message(bot, params, "document", sent_file(params, "document"))


async def send_photo(config: SimConfig, bot: Bot, params: Params) -> Result:
    # Telegram answers with several sizes; one, of a size the simulator does not measure.
    return media_message(
        bot, params, "photo", [{**sent_file(params, "photo"), "width": 320, "height": 240}]
    )


async def edit_message_text(config: SimConfig, bot: Bot, params: Params) -> Result:
    text = params.text("text")
    if not text:
        raise bad_request("message text is empty")
    if params.text("inline_message_id"):
        return True, None
    chat_id = chat_id_arg(params)
    message_id = params.integer("message_id")
    if message_id <= 0:
        raise bad_request("message to edit not found")
    msg = bot.factory.bot_message(chat_id, text, params.decoded("reply_markup"))
    msg["message_id"] = message_id
    msg["edit_date"] = msg["date"]
    return msg, None


async def send_chat_action(config: SimConfig, bot: Bot, params: Params) -> Result:
    chat_id_arg(params)
    if not params.text("action"):
        raise bad_request("wrong parameter action in request")
    return True, None


async def answer_callback_query(config: SimConfig, bot: Bot, params: Params) -> Result:
    if params.integer("callback_query_id") == 0:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    return True, None


async def answer_inline_query(config: SimConfig, bot: Bot, params: Params) -> Result:
    if params.integer("inline_query_id") == 0:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    return True, None


async def accept(config: SimConfig, bot: Bot, params: Params) -> Result:
    """Methods whose effect is invisible here (commands, descriptions, deletions)."""
    return True, None


_HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "getUpdates": get_updates,
    "sendMessage": send_message,
    "sendDocument": send_document,
    "sendPhoto": send_photo,
    "editMessageText": edit_message_text,
    "sendChatAction": send_chat_action,
    "answerCallbackQuery": answer_callback_query,
    "answerInlineQuery": answer_inline_query,
    "deleteMessage": accept,
    "setMyCommands": accept,
    "deleteMyCommands": accept,
    "setMyDescription": accept,
    "setMyShortDescription": accept,
    "setChatMenuButton": accept,
}
# Telegram method names are case-insensitive.
METHODS: dict[str, tuple[str, Handler]] = {name.lower(): (name, h) for name, h in _HANDLERS.items()}


def canonical_name(method: str) -> str:
    known = METHODS.get(method.lower())
    return known[0] if known else method


async def dispatch(config: SimConfig, bot: Bot, method: str, params: Params) -> Result:
    known = METHODS.get(method.lower())
    if known is None:
        raise ApiError(404, "Not Found")
    return await known[1](config, bot, params)
