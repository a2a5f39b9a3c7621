"""tgwebhook wiring: `create_app(settings=None)` (WSGI), `create_asgi_app()` (what gunicorn
runs), and the `python app.py` CLI.

Importing this module opens nothing and starts nothing; the scheduler and forwarder run in
their own processes (`python -m monitor`, `python -m forwarder`), supervised by `serve`.
"""

from __future__ import annotations

import logging
import sys

from flask import Flask

from core import metrics
from core.config import Settings, load_settings
from core.logs import configure_logging
from core.storage import open_store
from core.updates import load_schema

log = logging.getLogger("tgwebhook")


def create_app(settings: Settings | None = None, store=None) -> Flask:
    """The web app: webhook receiver plus /livez, /readyz, /health and /metrics."""
    from ops import views as ops_views
    from receiver import views

    settings = settings or load_settings()
    configure_logging(settings)
    if settings.insecure_no_secret:
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
    endpoint = views.WebhookEndpoint(store, settings, schema)
    app.wsgi_app = views.mount(views.WebhookApp(endpoint), app.wsgi_app)
    # For create_asgi_app, tests and CLI tools; never read by views.
    app.extensions["tgwebhook.store"] = store
    app.extensions["tgwebhook.endpoint"] = endpoint
    return app


def create_asgi_app(settings: Settings | None = None):
    """What `serve` runs (gunicorn + uvicorn workers): the same endpoint without a thread per
    request, and the Flask app behind it for everything but /webhook/*."""
    from receiver.asgi import WebhookASGI

    settings = settings or load_settings()
    app = create_app(settings)
    return WebhookASGI(app.extensions["tgwebhook.endpoint"], app, threads=settings.threads)


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
