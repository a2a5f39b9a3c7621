"""Admin JSON API (/admin/...): inject updates, set faults, inspect calls and deliveries.

Every answer is `{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}` (400/404).
See simulator/README.md for the endpoint list with examples.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator import methods
from simulator.flood import parse_limits
from simulator.state import Bot, Registry
from simulator.traffic import TrafficBoard, TrafficSpec

Handler = Callable[[web.Request], Awaitable[web.Response]]


def ok(result: Any, **extra: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result, **extra})


def fail(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


def add_routes(app: web.Application, registry_key: web.AppKey, traffic_key: web.AppKey) -> None:
    def with_state(func: Callable[..., Awaitable[web.Response]]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            try:
                return await func(request, request.app[registry_key], request.app[traffic_key])
            except (ValueError, TypeError, KeyError) as exc:
                return fail(400, str(exc) or type(exc).__name__)

        return handler

    r = app.router
    r.add_get("/admin/health", with_state(health))
    r.add_post("/admin/reset", with_state(reset))
    r.add_get("/admin/bots", with_state(list_bots))
    r.add_route("*", "/admin/bots/{token}", with_state(bot_view))
    r.add_route("*", "/admin/bots/{token}/{action}", with_state(bot_action))
    r.add_get("/admin/faults", with_state(list_faults))
    r.add_post("/admin/faults", with_state(add_fault))
    r.add_delete("/admin/faults", with_state(clear_faults))
    r.add_delete("/admin/faults/{fault_id}", with_state(remove_fault))
    r.add_get("/admin/traffic", with_state(traffic_status))
    r.add_post("/admin/traffic", with_state(traffic_start))
    r.add_delete("/admin/traffic", with_state(traffic_stop))


async def body_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc


async def health(request: web.Request, registry: Registry, traffic: TrafficBoard) -> web.Response:
    return ok({"bots": len(registry.bots), "config": vars(registry.config)})


async def reset(request: web.Request, registry: Registry, traffic: TrafficBoard) -> web.Response:
    await traffic.stop_all()
    await registry.reset()
    return ok(True)


async def list_bots(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    return ok([await summary(bot) for bot in registry.bots.values()])


def _bot(request: web.Request, registry: Registry) -> Bot:
    bot = registry.get(request.match_info["token"])
    if bot is None:
        raise ValueError("malformed token: expected <digits>:<35 chars of A-Za-z0-9_->")
    return bot


async def summary(bot: Bot) -> dict[str, Any]:
    return {
        "token": bot.token,
        "user": bot.user,
        "revoked": bot.revoked,
        "next_update_id": bot.next_update_id,
        "calls": len(bot.calls),
        "webhook": await webhook_view(bot),
    }


async def webhook_view(bot: Bot) -> dict[str, Any]:
    """getWebhookInfo plus what Telegram keeps to itself (secret, target, in flight)."""
    info = methods.webhook_info(bot)
    settings = bot.delivery.settings
    info["secret_token"] = settings.secret_token if settings else ""
    info["target"] = settings.target if settings else ""
    info["in_flight"] = bot.delivery.in_flight_count
    info["queues"] = len(bot.delivery.queues)
    return info


async def bot_view(request: web.Request, registry: Registry, traffic: TrafficBoard) -> web.Response:
    return ok(await summary(_bot(request, registry)))


async def bot_action(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    action = request.match_info["action"]
    handler = BOT_ACTIONS.get((request.method, action))
    if handler is None:
        return fail(404, f"no {request.method} /admin/bots/<token>/{action}")
    return await handler(request, registry, _bot(request, registry))


async def inject(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    body = await body_json(request)
    if isinstance(body, dict) and isinstance(body.get("updates"), list):
        body = body["updates"]
    items = body if isinstance(body, list) else [body]
    queued, skipped = bot.inject(items, registry.config.time_factor)
    return ok(queued, skipped=skipped)


async def redeliver(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    body = await body_json(request)
    ids = body.get("update_ids") or [body.get("update_id")]
    try:
        done = [bot.redeliver(int(uid), registry.config.time_factor) for uid in ids]
    except KeyError as exc:
        return fail(404, f"update {exc.args[0]} was not delivered (or is too old)")
    return ok(done)


async def revoke(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    bot.revoked = True
    return ok(True)


async def unrevoke(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    bot.revoked = False
    return ok(True)


async def set_update_id(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    """Emulate Telegram restarting update_id at random after a week without updates."""
    bot.next_update_id = int((await body_json(request))["next"])
    return ok(bot.next_update_id)


async def sync_error(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    body = await body_json(request)
    bot.sync_error_date = int(body.get("date", time.time()))
    return ok(bot.sync_error_date)


async def calls(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    q = request.query
    found = [
        c
        for c in bot.calls
        if ("method" not in q or c["method"].lower() == q["method"].lower())
        and ("source" not in q or c["source"] == q["source"])
        and ("since" not in q or c["time"] >= float(q["since"]))
    ]
    return ok(found)


async def deliveries(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    q = request.query
    found = [
        a
        for a in bot.delivery.journal.attempts
        if ("update_id" not in q or a["update_id"] == int(q["update_id"]))
        and ("outcome" not in q or a["outcome"] == q["outcome"])
        and ("chat_id" not in q or a["chat_id"] == int(q["chat_id"]))
    ]
    return ok(found)


async def clear_calls(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    bot.calls.clear()
    return ok(True)


async def clear_deliveries(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    bot.delivery.journal.attempts.clear()
    return ok(True)


async def webhook(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    return ok(await webhook_view(bot))


async def flood(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    """GET: the flood model's view; POST: set limits and enable (unless "enabled": false);
    DELETE: clear its penalties, forced floods and counters."""
    if request.method == "POST":
        spec = {"enabled": True, **await body_json(request)}
        bot.flood.configure(parse_limits(spec, bot.flood.limits))
    elif request.method == "DELETE":
        bot.flood.clear()
    return ok(bot.flood.view(time.monotonic()))


async def force_flood(request: web.Request, registry: Registry, bot: Bot) -> web.Response:
    body = await body_json(request)
    retry_after, times = int(body.get("retry_after", 1)), int(body.get("times", 1))
    bot.flood.force(body.get("chat_id"), body.get("method"), retry_after, times)
    return ok(bot.flood.view(time.monotonic()))


BOT_ACTIONS: dict[
    tuple[str, str], Callable[[web.Request, Registry, Bot], Awaitable[web.Response]]
] = {
    ("POST", "updates"): inject,
    ("POST", "redeliver"): redeliver,
    ("POST", "revoke"): revoke,
    ("POST", "unrevoke"): unrevoke,
    ("POST", "update_id"): set_update_id,
    ("POST", "sync_error"): sync_error,
    ("GET", "calls"): calls,
    ("DELETE", "calls"): clear_calls,
    ("GET", "deliveries"): deliveries,
    ("DELETE", "deliveries"): clear_deliveries,
    ("GET", "webhook"): webhook,
    ("GET", "flood"): flood,
    ("POST", "flood"): flood,
    ("DELETE", "flood"): flood,
    ("POST", "force_flood"): force_flood,
}


async def list_faults(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    return ok([fault.as_dict() for fault in registry.faults.faults])


async def add_fault(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    spec = await body_json(request)
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    return ok(registry.faults.add(spec).as_dict())


async def clear_faults(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    return ok(registry.faults.clear(request.query.get("token")))


async def remove_fault(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    if registry.faults.remove(int(request.match_info["fault_id"])):
        return ok(True)
    return fail(404, "no such fault")


async def traffic_status(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    return ok(traffic.status())


async def traffic_start(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    spec = TrafficSpec(**await body_json(request))
    return ok(await traffic.start(spec))


async def traffic_stop(
    request: web.Request, registry: Registry, traffic: TrafficBoard
) -> web.Response:
    token = request.query.get("token")
    if token is None:
        await traffic.stop_all()
        return ok(True)
    return ok(await traffic.stop(token))
