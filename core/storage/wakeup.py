"""Wake-ups: the process that commits new work tells the forwarder at once, so delivery is
driven by commits instead of a poll.

On one host (SQLite) it is a datagram on an abstract Unix socket whose name is derived from the
database file, so appliances on one host with different stores never wake each other, and a
killed forwarder leaves no socket file behind. A store has a few slots so several forwarders may
share it; a writer rings every slot (an unbound one refuses at once). PostgreSQL replicas use
LISTEN/NOTIFY instead (postgres/store.py). A wake-up is only a hint: a lost one costs at most the
forwarder's safety-net poll, never an update.

A ring names the kinds of work it announces (`pending` rows for the forwarder, `stored` rows for
a parked getUpdates), so a forwarder is not woken for a polling bot's update, nor a poll for a
forwarded one; `announce_work` (a replay, a reconnect) wakes every kind.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import select
import socket
import threading
from collections.abc import Callable

from core.storage.model import PENDING, STORED

log = logging.getLogger(__name__)
WORK = (PENDING, STORED)
SLOTS = 8  # forwarder processes on one SQLite store that can be woken directly


def new_work(batch: list[tuple], claimed: list[int]) -> frozenset[str]:
    """The kinds of work a committed batch of ingest rows (`ingest.claim_params`) added: `pending`
    for the forwarder, `stored` for a parked getUpdates; empty when every row was a duplicate."""
    return frozenset(
        params[-1] for params, new in zip(batch, claimed, strict=True) if new and params[-1] in WORK
    )


def encode_kinds(kinds: frozenset[str] | tuple[str, ...]) -> str:
    """The ring's text: the kinds, comma-separated in a fixed order (a NOTIFY payload too)."""
    return ",".join(kind for kind in WORK if kind in kinds)


def is_wanted(message: str, wants: frozenset[str]) -> bool:
    """Does a ring concern a listener that wants `wants`? An empty ring (older writers, a
    replay's announcement) concerns everyone."""
    return not message or any(kind in wants for kind in message.split(","))


def channel_names(path: str) -> list[str]:
    digest = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:24]
    return [f"\0tgwebhook-wake-{digest}-{slot}" for slot in range(SLOTS)]


class Doorbell:
    """The committing side: `ring()` after a commit that made work for the forwarder."""

    def __init__(self, path: str) -> None:
        self._names = channel_names(path)
        self._sock: socket.socket | None = None
        self._pid = 0

    def ring(self, kinds: frozenset[str] | tuple[str, ...] = WORK) -> None:
        sock = self._socket()
        message = encode_kinds(kinds).encode()
        for name in self._names:
            try:  # noqa: SIM105 (hot path: no context manager per slot)
                sock.sendto(message, name)
            except OSError:  # nobody on this slot, or its buffer is full of earlier rings
                pass

    def _socket(self) -> socket.socket:
        # A socket is not shared across fork: each gunicorn worker opens its own.
        if self._sock is None or self._pid != os.getpid():
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
            self._pid = os.getpid()
        return self._sock

    def close(self) -> None:
        if self._sock is not None and self._pid == os.getpid():
            self._sock.close()
        self._sock = None


class Listener:
    """The forwarder's side: calls `wake` (from its own thread) when work was committed."""

    def __init__(self, wake: Callable[[], None], wants: tuple[str, ...] = WORK) -> None:
        self.wake = wake
        self.wants = frozenset(wants)
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wake-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def close(self) -> None:
        self.closed.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError


class DatagramListener(Listener):
    """Started inside an event loop, the socket is one more reader of that loop (no thread)."""

    def __init__(self, path: str, wake: Callable[[], None], wants: tuple[str, ...] = WORK) -> None:
        super().__init__(wake, wants)
        self.sock = bind_free_slot(channel_names(path))
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> Listener:
        if self.sock is not None:
            self.sock.setblocking(False)
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            return super().start()
        if self.sock is not None:
            self._loop.add_reader(self.sock, self._readable)
        return self

    def close(self) -> None:
        if self._loop is None:
            return super().close()
        if self.sock is not None:
            self._loop.remove_reader(self.sock)
            self.sock.close()

    def _readable(self) -> None:
        if self._drain():
            self.wake()

    def _run(self) -> None:
        if self.sock is None:
            return
        with self.sock:
            while not self.closed.is_set():
                try:
                    ready, _, _ = select.select([self.sock], [], [], 0.5)  # 0.5: to see close()
                    if ready and self._drain():
                        self.wake()
                except OSError as exc:
                    log.warning("wake-up socket failed: %s; delivery falls back to the poll", exc)
                    return

    def _drain(self) -> bool:
        """Read every ring waiting: many commits, one wake-up (a claim round takes all)."""
        rang = False
        while True:
            try:
                message = self.sock.recv(64)  # type: ignore[union-attr]
            except BlockingIOError:
                return rang
            rang = rang or is_wanted(message.decode("ascii", "replace"), self.wants)


def bind_free_slot(names: list[str]) -> socket.socket | None:
    for name in names:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(name)
            return sock
        except OSError:
            sock.close()
    log.warning("all %d wake-up slots of this store are taken: delivery relies on the poll", SLOTS)
    return None
