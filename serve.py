"""`python app.py serve`: the whole appliance as one supervised command.

The web process (gunicorn with the uvicorn workers of `gunicorn.conf.py`), the forwarder and
the monitor run as children; SIGTERM/SIGINT are forwarded to them, and a crashed child takes
the whole appliance down for the orchestrator to restart instead of leaving it half alive.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.cli import settings_or_exit
from core.logs import configure_logging
from core.storage import StoreError, open_store

log = logging.getLogger("tgwebhook")

# Long-running children besides the web server: (name, python module run with -m).
PROCESSES: tuple[tuple[str, str], ...] = (("forwarder", "forwarder"), ("monitor", "monitor"))
GUNICORN_CONFIG = Path(__file__).with_name("gunicorn.conf.py")


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the appliance (web, monitor, forwarder)")
    serve.add_argument("--no-monitor", action="store_true", help="do not start the monitor")
    serve.add_argument("--no-forwarder", action="store_true", help="do not start the forwarder")
    serve.set_defaults(handler=run_serve)


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
    gunicorn = (sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG))
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


@dataclass(frozen=True)
class Child:
    name: str
    argv: tuple[str, ...]


def supervise(children: list[Child], env: Mapping[str, str], grace_seconds: float = 30.0) -> int:
    """Run until a signal (exit 0 after children stop) or a child's death (exit 1)."""
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stopping.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    running: dict[str, subprocess.Popen] = {}
    try:
        for child in children:
            running[child.name] = subprocess.Popen(child.argv, env=dict(env))
            log.info("started %s (pid %d)", child.name, running[child.name].pid)
        failed = wait_for_stop_or_death(running, stopping)
    finally:
        stop_all(running, grace_seconds)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0


def wait_for_stop_or_death(running: dict[str, subprocess.Popen], stopping: threading.Event) -> bool:
    while not stopping.wait(0.2):
        for name, process in running.items():
            code = process.poll()
            if code is not None:
                log.error("%s exited unexpectedly with code %s; stopping the appliance", name, code)
                return True
    log.info("signal received; stopping children")
    return False


def stop_all(running: dict[str, subprocess.Popen], grace_seconds: float) -> None:
    for process in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in running.items():
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            log.error("%s did not stop within %.0f s; killing it", name, grace_seconds)
            process.kill()
            process.wait(timeout=5)
