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
    from receiver.asgi import WebhookASGI

from core import metrics
from core.config import Settings, load_settings
from core.logs import configure_logging
from core.storage import Store, open_store
from core.updates import load_schema

log = logging.getLogger("tgwebhook")


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """The web app: webhook receiver plus /livez, /readyz, /health and /metrics. /webhook/*
    goes through the ASGI app `serve` runs (`create_asgi_app`), bridged to WSGI."""
    from ops import views as ops_views
    from receiver.asgi import WebhookASGI, as_wsgi, mount
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
    webhook = WebhookASGI(Pipeline(store, settings, schema), app.wsgi_app, settings.threads)
    app.wsgi_app = mount(as_wsgi(webhook), app.wsgi_app)  # type: ignore[method-assign,assignment]
    # For create_asgi_app, tests and CLI tools; never read by views.
    app.extensions["tgwebhook.store"] = store
    app.extensions["tgwebhook.asgi"] = webhook
    return app


def create_asgi_app(settings: Settings | None = None) -> WebhookASGI:
    """What `serve` runs (gunicorn + uvicorn workers): the webhook pipeline without a thread
    per request, and the Flask app behind it for everything but /webhook/*."""
    return create_app(settings).extensions["tgwebhook.asgi"]


def main(argv: list[str] | None = None) -> int:
    """`python app.py COMMAND`: each package registers its own subcommands."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="tgwebhook: a reliability and observability appliance for Telegram bot webhooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in CLI_MODULES:
        importlib.import_module(name).register(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


# Packages whose `cli.register(subparsers)` adds commands; imported only when the CLI runs.
CLI_MODULES = ("serve", "core.cli", "forwarder.cli", "monitor.commands.cli", "simulator.demo.cli")


if __name__ == "__main__":
    sys.exit(main())
