"""gunicorn settings for the web process, from TGWEBHOOK_* (`python app.py serve` passes
this file with -c; gunicorn started by hand in this folder finds it by itself)."""

import os
import signal

from prometheus_client import multiprocess
from uvicorn_worker import UvicornWorker

from core.config import load_settings
from core.listeners import ops_address
from receiver.connection import ConnectionLimits, bounded_protocol
from receiver.tls import serve_worker

_settings = load_settings()

wsgi_app = "app:create_asgi_app()"
# The app tells the two listeners apart by the port a connection came in on (app.ByListener).
bind = list(dict.fromkeys([_settings.listen, ops_address(_settings)]))
workers = _settings.workers
_limits = ConnectionLimits(
    header_seconds=_settings.header_timeout_seconds,
    body_seconds=_settings.body_timeout_seconds,
    body_idle_seconds=_settings.body_idle_timeout_seconds,
    max_connections=_settings.max_client_connections,
)


class Worker(UvicornWorker):
    # X-Forwarded-For is judged by receiver/security.py against TGWEBHOOK_TRUSTED_PROXIES only.
    CONFIG_KWARGS = {
        "loop": "uvloop",
        # httptools, with every connection phase bounded in time and connections capped.
        "http": bounded_protocol(_limits),
        "proxy_headers": False,
        "server_header": False,
        # Shutdown is bounded at every layer, each inside the next: a connection that will not
        # finish is dropped after 10 s, gunicorn kills a worker after 20 s, and `serve` kills
        # any child still running after 30 s, so a stop never hangs.
        "timeout_graceful_shutdown": 10,
        "timeout_notify": 5,  # how often callback_notify runs
    }

    async def callback_notify(self) -> None:
        # gunicorn's own workers exit when the master dies; uvicorn's would go on serving on
        # the inherited socket with nobody supervising them.
        if os.getppid() != self.ppid:
            self.log.warning("gunicorn master is gone; worker %s stops", os.getpid())
            os.kill(os.getpid(), signal.SIGTERM)
        self.notify()

    async def _serve(self) -> None:
        if not _settings.tls_cert_file:
            return await super()._serve()
        # TGWEBHOOK_TLS_CERT_FILE: https on the public listener only; ops stays plain HTTP.
        await serve_worker(self, _settings)


# An event loop per worker: a request waiting for its group commit holds no thread, and
# connections stay alive between requests (Telegram reuses them).
worker_class = Worker
keepalive = _settings.idle_timeout_seconds  # uvicorn's keep-alive bound, between requests
graceful_timeout = 20
timeout = 60
accesslog = None
errorlog = "-"
# Several appliances (and tests) may run on one host; the control socket path would clash.
control_socket_disable = True
loglevel = _settings.log_level.lower()


def child_exit(server, worker) -> None:
    # Per prometheus_client's multiprocess docs: drop a dead worker's live gauges.
    multiprocess.mark_process_dead(worker.pid)
