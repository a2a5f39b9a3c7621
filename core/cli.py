"""Commands every process shares: `check-config`, `migrate-store`, and reading settings."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.config import ConfigError, Settings, load_settings
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
    settings = settings_or_exit()
    shown = {
        name: str(value) if hasattr(value, "reveal") else value
        for name, value in settings.values.items()
    }
    shown["bots"] = sorted(settings.bots)
    if args.json:
        print(json.dumps(shown, default=list, indent=2))
    else:
        for name, value in shown.items():
            print(f"{name:32} {value}")
    return 0
