"""Commands every process shares: `check-config`, `migrate-store`, and reading settings."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from core.config import ConfigError, Settings, load_settings
from core.settings_table import SETTINGS
from core.storage import migrate as migrate_store

log = logging.getLogger("tgwebhook")


def register(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("check-config", help="validate settings and print them (redacted)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=run_check_config)
    migrate_store.register(commands)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"tgwebhook: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_check_config(args: argparse.Namespace) -> int:
    shown = shown_settings(settings_or_exit())
    if args.json:
        print(json.dumps(shown, default=list, indent=2))
        return 0
    bots = shown.pop("bots")
    for name, value in shown.items():
        print(f"{name:32} {value}")
    for bot, values in bots.items():
        print(f"[bots.{bot}]")
        for name, value in values.items():
            print(f"  {name:30} {value}")
    return 0


def shown_settings(settings: Settings) -> dict[str, Any]:
    """Every setting by its variable's name (secrets as `Secret('***')`), the bots' per bot."""
    shown: dict[str, Any] = {
        s.name: shown_value(getattr(settings, s.attr)) for s in SETTINGS if not s.per_bot
    }
    shown["bots"] = {
        name: {s.name: shown_value(getattr(bot, s.attr)) for s in SETTINGS if s.per_bot}
        for name, bot in sorted(settings.bots.items())
    }
    return shown


def shown_value(value: Any) -> Any:
    return str(value) if hasattr(value, "reveal") else value
