"""The operator console on the ops listener: HTML pages (/, /dead-letters, /alerts, /updates,
/audit), their static files (/console/static/) and the JSON admin API (/api/). See
docs/console.md. It never runs on the public webhook listener."""

from __future__ import annotations

from flask import Flask

from core.config import Settings
from core.storage import Store
from ops.access import Access
from ops.console import api, pages
from ops.console.context import Console, make_console


def register(app: Flask, store: Store, settings: Settings, access: Access) -> Console:
    """Add the console's pages and API to the ops Flask app; each request is checked by
    `access` (the same object OpsASGI checks) for its role."""
    console = make_console(store, settings, access)
    app.register_blueprint(pages.make_blueprint(console))
    app.register_blueprint(api.make_blueprint(console))
    app.extensions["tgwebhook.console"] = console
    return console
