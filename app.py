"""tgwebhook wiring: `create_app(settings=None)` (WSGI), `create_asgi_app()` (what gunicorn
runs), and the `python app.py` CLI.

Importing this module opens nothing and starts nothing; the scheduler and forwarder run in
their own processes (`python -m monitor`, `python -m forwarder`), supervised by `serve`.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from receiver.asgi import ASGIApp, Receive, Scope, Send, WebhookASGI

from core import metrics
from core.config import Settings, load_settings
from core.listeners import ops_address
from core.logs import configure_logging
from core.storage import Store, open_store
from core.updates import load_schema

log = logging.getLogger("tgwebhook")


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """The web app for WSGI callers (tests, embedding): /webhook/* plus the ops blueprint
    (/livez, /readyz, /health, /metrics) on one app, without the ops token, and the console
    (which checks credentials itself). What `serve` runs is `create_asgi_app`, which splits
    them by listener."""
    from ops import console
    from ops import views as ops_views
    from ops.access import access_for
    from ops.listener import OpsASGI
    from receiver.asgi import WebhookASGI, as_wsgi, from_wsgi, mount, public_rest
    from receiver.pipeline import Pipeline

    settings = settings or load_settings()
    configure_logging(settings)
    if any(bot.insecure_no_secret for bot in settings.bots.values()):
        log.warning(
            "INSECURE: TGWEBHOOK_INSECURE_NO_SECRET=true; updates without a secret "
            "token are accepted from anyone who can reach this port"
        )
    store = store or open_store(
        settings.db, timeout=settings.store_timeout_seconds, synchronous=settings.sqlite_synchronous
    )
    schema = load_schema()
    metrics.precreate(settings.bots, schema.update_types)
    app = Flask(__name__)
    app.register_blueprint(ops_views.make_blueprint(store, settings))
    access = access_for(settings)
    console.register(app, store, settings, access)
    public = WebhookASGI(Pipeline(store, settings, schema), public_rest)
    ops = OpsASGI(
        from_wsgi(app.wsgi_app, settings.threads),
        access,
        own_auth=proxied(settings, store),
    )
    # For create_asgi_app, tests and CLI tools; never read by views.
    app.extensions["tgwebhook.asgi"] = by_listener(settings, public, ops)
    app.extensions["tgwebhook.store"] = store
    app.wsgi_app = mount(as_wsgi(public), app.wsgi_app)  # type: ignore[method-assign,assignment]
    return app


def proxied(settings: Settings, store: Store) -> tuple:
    """The Bot API proxy's paths on the ops listener (they authenticate by the bot token)."""
    from proxy.asgi import PREFIXES, ProxyASGI

    proxy = ProxyASGI(settings, store, load_schema().update_types)
    return tuple((prefix, proxy) for prefix in PREFIXES)


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """What `serve` runs (gunicorn + uvicorn workers): the webhook pipeline without a thread
    per request on the public listener, the ops application on the ops listener."""
    return create_app(settings).extensions["tgwebhook.asgi"]


def by_listener(settings: Settings, public: WebhookASGI, ops: ASGIApp) -> ASGIApp:
    """The app for gunicorn's binds: the public listener gets `public` (/webhook/*, /livez),
    the ops listener `ops`; when both are one loopback address, it gets the pipeline in front
    of `ops` (one local URL for everything)."""
    from receiver.asgi import WebhookASGI

    ops_listen = ops_address(settings)
    if ops_listen == settings.listen:
        return WebhookASGI(public.pipeline, ops)
    return ByListener(public, ops, int(ops_listen.rpartition(":")[2]))


class ByListener:
    """Connections to the ops port go to `ops`; all others (the public listener) to `public`.
    scope["server"] is the local address the connection came in on; config rejects a shared
    port with different hosts, so the port alone tells them apart."""

    def __init__(self, public: ASGIApp, ops: ASGIApp, ops_port: int) -> None:
        self.public = public
        self.ops = ops
        self.ops_port = ops_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if server and server[1] == self.ops_port and scope["type"] == "http":
            return await self.ops(scope, receive, send)
        await self.public(scope, receive, send)


def main(argv: list[str] | None = None) -> int:
    """`python app.py COMMAND`: each package registers its own subcommands."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="python app.py",
        description=(
            "tgwebhook: a reliability and observability appliance for Telegram bot webhooks."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in CLI_MODULES:
        importlib.import_module(name).register(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


# Packages whose `cli.register(subparsers)` adds commands; imported only when the CLI runs.
CLI_MODULES = (
    "serve",
    "core.cli",
    "core.erasure",
    "forwarder.cli",
    "monitor.commands.cli",
    "simulator.demo.cli",
)


if __name__ == "__main__":
    sys.exit(main())
