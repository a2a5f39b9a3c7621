"""`python app.py serve`: the whole appliance as one supervised command.

The web process (gunicorn with the uvicorn workers of `gunicorn.conf.py`), the forwarder and
the monitor run as children; SIGTERM/SIGINT are forwarded to them, and a crashed child takes
the whole appliance down for the orchestrator to restart instead of leaving it half alive.
A store outage is not a crash: every child starts and stays up without it (503, not ready)
and recovers by itself when it is back; a store that refuses us is an error at start (exit 2).
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
from core.listeners import ops_address
from core.logs import configure_logging
from core.storage import StoreError, open_store, redact

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
    if not check_store(settings.db, settings.store_timeout_seconds):
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
    scheme = "https" if settings.tls_cert_file else "http"
    log.info("serving on %s://%s with %d workers", scheme, settings.listen, settings.workers)
    if ops_address(settings) != settings.listen:
        log.info("ops listener (metrics, health, proxy) on http://%s", ops_address(settings))
    try:
        return supervise(children, env)
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def check_store(db: str, timeout: float) -> bool:
    """Migrate once here, before the workers open the store together. A store that is down is
    no reason not to start (503 until it is back: the processes reconnect and migrate by
    themselves); one that refuses us (password, database, SQLite path) is: say which."""
    try:
        open_store(db, timeout=timeout).close()
    except (StoreError, OSError) as exc:
        log.error("TGWEBHOOK_DB=%s cannot be used: %s", redact(db), exc)
        return False
    return True


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
    # SIGHUP reloads, as for gunicorn itself: its workers restart and read the TLS files again.
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda *_: reload(running))
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


def reload(running: dict[str, subprocess.Popen]) -> None:
    web = running.get("web")
    if web is not None and web.poll() is None:
        log.info("SIGHUP: reloading the web workers")
        web.send_signal(signal.SIGHUP)


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
