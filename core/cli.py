"""Core commands: `serve` (the whole appliance under one supervisor) and `check-config`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile

from core import migrate_store
from core.config import ConfigError, Settings, load_settings
from core.logs import configure_logging
from core.storage import StoreError, open_store
from core.supervisor import Child, supervise

log = logging.getLogger("tgwebhook")

# Long-running children besides the web server: (name, python module run with -m).
PROCESSES: tuple[tuple[str, str], ...] = (("forwarder", "forwarder"), ("monitor", "monitor"))


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the appliance (web, monitor, forwarder)")
    serve.add_argument("--no-monitor", action="store_true", help="do not start the monitor")
    serve.add_argument("--no-forwarder", action="store_true", help="do not start the forwarder")
    serve.set_defaults(handler=run_serve)
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


def prepare_metrics_dir() -> tuple[str, bool]:
    """The multiprocess metrics directory, wiped: files of a previous run would be summed."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not configured:
        return tempfile.mkdtemp(prefix="tgwebhook-metrics-"), True
    shutil.rmtree(configured, ignore_errors=True)
    os.makedirs(configured, exist_ok=True)
    return configured, False


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    configure_logging(settings)
    try:
        # Migrate once here, before several workers open the store at the same moment.
        open_store(settings.db, timeout=settings.store_timeout_seconds).close()
    except (StoreError, OSError) as exc:
        log.error("cannot open the store %s: %s", settings.db, exc)
        return 2
    metrics_dir, owned = prepare_metrics_dir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    gunicorn = (sys.executable, "-m", "gunicorn", "-c", "python:core.gunicorn_conf")
    children = [Child("web", gunicorn)]
    skipped = {"monitor"} if args.no_monitor else set()
    skipped |= {"forwarder"} if args.no_forwarder else set()
    children += [
        Child(name, (sys.executable, "-m", module))
        for name, module in PROCESSES
        if name not in skipped
    ]
    log.info("serving on http://%s with %d workers", settings.listen, settings.workers)
    try:
        return supervise(children, env)
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
