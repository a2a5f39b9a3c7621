"""A small process supervisor: start children, forward SIGTERM/SIGINT, fail loudly if one dies.

`python app.py serve` runs gunicorn, the monitor and the forwarder under it, so one command
(or one container) runs the appliance, and a crashed child takes the whole appliance down
for the orchestrator to restart instead of leaving it half alive.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


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
