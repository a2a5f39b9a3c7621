"""CLI: python -m simulator --host 127.0.0.1 --port 8081 [--time-factor 1.0] [--local]
[--traffic ...]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from aiohttp import web

from simulator.server import TRAFFIC, create_app
from simulator.state import SimConfig
from simulator.tokens import make_token
from simulator.traffic import TrafficSpec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m simulator", description="Telegram-faithful fake Bot API"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--time-factor", type=float, default=1.0, help="scale of every Telegram delay")
    p.add_argument(
        "--local", action="store_true", help="allow http and any port, like a local Bot API server"
    )
    p.add_argument(
        "--webhook-timeout", type=float, default=60.0, help="seconds to wait for an answer"
    )
    p.add_argument("--seed", type=int, default=None, help="seed for update_ids and traffic")
    p.add_argument(
        "--ca-file", default=None, help="trust store for https webhooks (default: the system's)"
    )
    p.add_argument(
        "--traffic", type=float, default=0.0, metavar="RATE", help="updates/s to generate"
    )
    p.add_argument("--chats", type=int, default=10, help="chats the traffic is spread over")
    p.add_argument("--duplicates", type=float, default=0.0, help="share of re-delivered updates")
    p.add_argument("--token", default=make_token(1), help="bot the traffic is for")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = SimConfig(args.time_factor, args.local, args.webhook_timeout, args.seed, args.ca_file)
    app = create_app(config)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    logging.info("simulator on http://%s:%s (local=%s)", args.host, args.port, args.local)
    if args.traffic > 0:
        spec = TrafficSpec(args.token, args.traffic, args.chats, args.duplicates)
        await app[TRAFFIC].start(spec)
        logging.info("traffic: %s updates/s for %s", args.traffic, args.token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
