"""gunicorn settings for the web process, from TGWEBHOOK_* (used by `python app.py serve`)."""

from prometheus_client import multiprocess

from core.config import load_settings

_settings = load_settings()

wsgi_app = "app:create_app()"
bind = _settings.listen
workers = _settings.workers
# gthread keeps connections alive (Telegram reuses them); sync workers answer Connection: close.
worker_class = "gthread"
threads = _settings.threads
keepalive = 30
graceful_timeout = 30
timeout = 60
accesslog = None
errorlog = "-"
# Several appliances (and tests) may run on one host; the control socket path would clash.
control_socket_disable = True
loglevel = _settings.log_level.lower()


def child_exit(server, worker) -> None:
    # Per prometheus_client's multiprocess docs: drop a dead worker's live gauges.
    multiprocess.mark_process_dead(worker.pid)
