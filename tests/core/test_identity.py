"""Lease holder identities: a successor on the same host may take over only from the dead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from core.identity import is_dead_here, is_zombie, process_identity


def finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def unreaped_pid() -> int:
    """A child that has exited but is not waited for yet: a zombie, as after a kill -9 of a
    whole process group whose orphans init has not reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while not is_zombie(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    ZOMBIES.append(child)  # reaped at the end of the run
    return child.pid


ZOMBIES: list[subprocess.Popen] = []


@pytest.mark.parametrize(
    ("identity", "dead"),
    [
        (lambda: f"{socket.gethostname()}:{finished_pid()}:ab12", True),
        (lambda: f"{socket.gethostname()}:{unreaped_pid()}:ab12", True),
        (lambda: f"{socket.gethostname()}:{os.getppid()}:ab12", False),  # alive
        (lambda: process_identity(), False),  # ourselves
        (lambda: f"elsewhere-{socket.gethostname()}:{finished_pid()}:ab12", False),  # other host
        (lambda: f"{socket.gethostname()}:not-a-pid:ab12", False),
        (lambda: "", False),
    ],
)
def test_only_a_gone_process_of_this_host_counts_as_dead(identity, dead):
    assert is_dead_here(identity()) is dead
    for zombie in ZOMBIES:
        zombie.wait(timeout=5)


def test_identities_name_this_host_and_process_and_differ_per_start():
    first, second = process_identity(), process_identity()
    host, pid, _ = first.split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and first != second
