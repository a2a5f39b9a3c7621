"""TLS on the public listener only (TGWEBHOOK_TLS_CERT_FILE): what Telegram reaches speaks
https, the ops listener stays plain HTTP on loopback. uvicorn applies one `ssl` to every
socket a worker serves, so the worker runs this Server, which chooses per socket."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.config import STARTUP_FAILURE
from uvicorn.server import Server

from core.settings_table import Settings
from core.tls import ServedCertificate

# A client that closed without TLS's close_notify would otherwise hold a stop for 30 s
# (the default) waiting for one.
SHUTDOWN_SECONDS = 1.0


class PublicTLSServer(Server):
    """uvicorn's Server, but `tls` is used only on the socket bound to `public_port`."""

    def __init__(self, config: Any, tls: ServedCertificate, public_port: int) -> None:
        super().__init__(config)
        self.tls = tls
        self.public_port = public_port

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config, loop = self.config, asyncio.get_running_loop()

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        self.servers = []
        for sock in sockets or []:
            extra = {"ssl": self.tls.listener, "ssl_shutdown_timeout": SHUTDOWN_SECONDS}
            public = sock.getsockname()[1] == self.public_port
            server = await loop.create_server(  # type: ignore[call-overload]
                create_protocol, sock=sock, backlog=config.backlog, **(extra if public else {})
            )
            self.servers.append(server)
        self.started = True


async def serve_worker(worker: Any, settings: Settings) -> None:
    """A uvicorn worker's `_serve`, with TLS on the public listener when it is configured."""
    worker.config.app = worker.wsgi
    tls = ServedCertificate(settings.tls_cert_file, settings.tls_key_file)
    server = PublicTLSServer(worker.config, tls, int(settings.listen.rpartition(":")[2]))
    worker._install_sigquit_handler()
    await server.serve(sockets=worker.sockets)
    if not server.started:
        sys.exit(Arbiter.WORKER_BOOT_ERROR)
