"""The simulator's aiohttp application: the Bot API under /bot<token>/<method>, admin under
/admin."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from simulator import admin
from simulator.bot_api import Outcome, run_call, run_webhook_reply
from simulator.envelope import error_body
from simulator.params import MAX_BODY, read_params
from simulator.state import Bot, Registry, SimConfig
from simulator.traffic import TrafficBoard

REGISTRY = web.AppKey("registry", Registry)
TRAFFIC = web.AppKey("traffic", TrafficBoard)


def create_app(config: SimConfig | None = None) -> web.Application:
    config = config or SimConfig()
    app = web.Application(client_max_size=MAX_BODY)

    async def on_reply(bot: Bot, call: dict[str, Any]) -> None:
        await run_webhook_reply(registry, bot, call)

    registry = Registry(config, on_reply)
    app[REGISTRY] = registry
    app[TRAFFIC] = TrafficBoard(registry)
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    admin.add_routes(app, REGISTRY, TRAFFIC)
    app.router.add_route("*", "/{tail:.*}", not_found)
    app.on_cleanup.append(_shutdown)
    return app


async def _shutdown(app: web.Application) -> None:
    await app[TRAFFIC].stop_all()
    await app[REGISTRY].close()


def json_response(body: dict[str, Any], status: int) -> web.Response:
    # Telegram answers errors with HTTP status == error_code; clients rely on both.
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return web.Response(status=status, text=text, content_type="application/json")


async def bot_api(request: web.Request) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    bot = registry.get(request.match_info["token"])
    if bot is None:
        return json_response(error_body(401, "Unauthorized"), 401)
    try:
        params = await read_params(request)
    except ValueError:
        return json_response(error_body(400, "Bad Request: can't parse JSON object"), 400)
    outcome = await run_call(registry, bot, request.match_info["method"], params)
    return _respond(request, outcome)


def _respond(request: web.Request, outcome: Outcome) -> web.StreamResponse:
    if outcome.disconnect:
        # Simulates a network failure: the client sees the connection drop with no answer.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client
    if outcome.raw_body is not None:
        return web.Response(status=outcome.status, text=outcome.raw_body, content_type="text/html")
    assert outcome.body is not None
    response = json_response(outcome.body, outcome.status)
    response.headers.update(outcome.headers)
    return response


async def not_found(request: web.Request) -> web.Response:
    return json_response(error_body(404, "Not Found"), 404)
