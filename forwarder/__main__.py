"""`python -m forwarder`: the delivery process (supervised by `python app.py serve`).

SIGTERM/SIGINT: stop claiming, let in-flight deliveries finish (bounded), exit 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from core import metrics
from core.cli import settings_or_exit
from core.logs import configure_logging
from core.storage import StoreError, open_store, redact
from core.updates import load_schema
from forwarder.dispatcher import Dispatcher, lease_seconds

log = logging.getLogger("tgwebhook.forwarder")


def main() -> int:
    settings = settings_or_exit()
    configure_logging(settings)
    try:
        store = open_store(
            settings.db,
            timeout=settings.store_timeout_seconds,
            synchronous=settings.sqlite_synchronous,
        )
    except (StoreError, OSError) as exc:  # down is not an error here: only a refusal is
        log.error("TGWEBHOOK_DB=%s cannot be used: %s", redact(settings.db), exc)
        return 2
    metrics.precreate(settings.bots, load_schema().update_types)
    dispatcher = Dispatcher(store, settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dispatcher.stop())
    report_store_only(store, sorted(set(settings.bots) - set(dispatcher.bots)))
    log.info(
        "forwarding bot(s) %s, %d chats each, lease %.0f s, owner %s",
        ", ".join(dispatcher.bots) or "(none)",
        settings.forward_concurrency,
        lease_seconds(settings),
        dispatcher.owner,
    )
    try:
        dispatcher.run()
    finally:
        store.close()
    log.info("forwarder stopped")
    return 0


def report_store_only(store, bots: list[str]) -> None:
    if not bots:
        return
    log.info("no forward URL for bot(s) %s: their updates are stored only", ", ".join(bots))
    try:
        stats = store.queue_stats(bots, time.time())
    except StoreError:
        return
    for s in stats:
        if s.depth:  # queued while the bot had a forward URL; they wait until it has one again
            log.warning("bot %s has %d queued updates but no forward URL now", s.bot, s.depth)


if __name__ == "__main__":
    sys.exit(main())
