"""Who holds a lease: `host:pid:nonce`, so a successor on the same host can tell the holder's
process is gone and take over at once instead of waiting the lease out."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


def process_identity() -> str:
    """This process, in logs and in lease rows: host, pid and a per-start nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def is_dead_here(identity: str) -> bool:
    """True when `identity` was a process on this host that no longer exists.

    Conservative: another host, a malformed identity, our own pid, or a pid that is alive
    (even if reused by an unrelated process) all answer False; the lease then runs out.
    """
    host, _, rest = identity.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return is_zombie(int(pid_text))


def is_zombie(pid: int) -> bool:
    """Killed but not yet reaped (its parent died too, and init has not got to it): dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may contain spaces
    return bool(fields) and fields[0] == "Z"
