"""Run the simulator in a background thread for tests and the demo.

with start_simulator(time_factor=0.01) as sim:
    requests.get(f"{sim.base_url}/bot{make_token(1)}/getMe")
    sim.admin.inject(make_token(1), text="hi", chat_id=5)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from types import TracebackType

from aiohttp import web

from simulator.admin_client import AdminClient
from simulator.server import create_app
from simulator.state import SimConfig
from simulator.tokens import make_token

__all__ = ["Simulator", "make_token", "start_simulator"]

log = logging.getLogger(__name__)
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# How long shutdown lets open requests (a long-polling getUpdates, say) finish.
SHUTDOWN_GRACE = 1.0


class Simulator:
    """A running simulator: `base_url` is a Bot API base, `admin` drives it."""

    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        # Bind before the thread starts: the port is known at once and cannot be taken.
        self._sock = socket.create_server((host, port), reuse_port=False)
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self.admin = AdminClient(self.base_url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def api_url(self, token: str, method: str) -> str:
        return f"{self.base_url}/bot{token}/{method}"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> Simulator:
        self._thread = threading.Thread(target=self._serve, name="tg-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"simulator did not start within {timeout} s")
        if self._error is not None:
            self.stop()
            raise RuntimeError("simulator failed to start") from self._error
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop serving, cancel deliveries, close every socket; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"simulator thread did not stop within {timeout} s")
        self._sock.close()
        self._thread = None

    def __enter__(self) -> Simulator:
        return self if self._thread is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inside the simulator thread ---------------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:  # reported to start() and re-raised there
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._close_loop(loop)

    async def _open(self) -> None:
        self._runner = web.AppRunner(
            create_app(self.config), access_log=None, shutdown_timeout=SHUTDOWN_GRACE
        )
        await self._runner.setup()
        site = web.SockSite(self._runner, self._sock)
        await site.start()

    def _close_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # never leave the loop open because cleanup failed
            log.exception("simulator cleanup failed")
        finally:
            loop.close()


def start_simulator(
    time_factor: float = 1.0,
    local: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_timeout: float = 60.0,
    seed: int | None = None,
    ca_file: str | None = None,
) -> Simulator:
    """Start a simulator on `host:port` (0 = a free port) and wait until it serves."""
    config = SimConfig(
        time_factor=time_factor,
        local=local,
        webhook_timeout=webhook_timeout,
        seed=seed,
        ca_file=ca_file,
    )
    return Simulator(config, host, port).start()
