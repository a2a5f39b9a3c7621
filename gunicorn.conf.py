"""gunicorn settings for the web process, from TGWEBHOOK_* (`python app.py serve` passes
this file with -c; gunicorn started by hand in this folder finds it by itself)."""

import os
import signal

from prometheus_client import multiprocess
from uvicorn_worker import UvicornWorker

from core.config import load_settings

_settings = load_settings()

wsgi_app = "app:create_asgi_app()"
bind = _settings.listen
workers = _settings.workers


class Worker(UvicornWorker):
    # X-Forwarded-For is judged by receiver/security.py against TGWEBHOOK_TRUSTED_PROXIES only.
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
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


# An event loop per worker: a request waiting for its group commit holds no thread, and
# connections stay alive between requests (Telegram reuses them).
worker_class = Worker
keepalive = 30
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
