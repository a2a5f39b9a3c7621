"""The web process's two listeners: the public one (TGWEBHOOK_LISTEN: /webhook/*, /livez) and
the ops one (TGWEBHOOK_OPS_LISTEN: /metrics, /health, /readyz and whatever operators use).

Unset, the ops listener is the public one itself when that is loopback (one URL for `make run`
and local use), else a loopback port of its own: ops paths are never where Telegram (or anyone
who can reach the webhook) is, unless a token guards them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from core.settings_table import Settings

LOCAL_OPS_LISTEN = "127.0.0.1:9080"


def is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ops_address(settings: Settings) -> str:
    """Where the ops listener listens (TGWEBHOOK_OPS_LISTEN, or its default)."""
    return ops_listen_of(settings.listen, settings.ops_listen)


def ops_listen_of(listen: str, ops_listen: str) -> str:
    """The ops listener's address (see the module docstring for the default)."""
    if ops_listen:
        return ops_listen
    return listen if is_loopback(listen) else LOCAL_OPS_LISTEN


def check_listeners(values: Mapping[str, Any], ops_listen: str, problems: list[str]) -> None:
    """Ops paths are never served where the public can reach them without credentials: the
    ops token, or the console's basic-auth users file."""
    listen = values["listen"]
    credentials = bool(values["ops_token"]) or bool(values["ops_users_file"])
    where = f"TGWEBHOOK_OPS_LISTEN ({ops_listen})"
    # The web app tells its listeners apart by the local port a connection came in on.
    if listen != ops_listen and listen.rpartition(":")[2] == ops_listen.rpartition(":")[2]:
        problems.append(f"{where}: needs a port of its own, not TGWEBHOOK_LISTEN's ({listen})")
    if listen == ops_listen and not is_loopback(listen):
        problems.append(
            f"{where}: the public TGWEBHOOK_LISTEN is not loopback, so the ops listener needs an "
            "address of its own (e.g. 127.0.0.1:9080)"
        )
    elif not is_loopback(ops_listen) and not credentials:
        problems.append(
            f"{where}: not a loopback address, so TGWEBHOOK_OPS_TOKEN (or "
            "TGWEBHOOK_OPS_TOKEN_FILE) or TGWEBHOOK_OPS_USERS_FILE must be set; "
            "or listen on 127.0.0.1"
        )
