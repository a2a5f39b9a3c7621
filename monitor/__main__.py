"""`python -m monitor`: the one scheduler process (poll, judge, notify, prune).

APScheduler job stores cannot be shared between processes (APScheduler FAQ), so exactly one
process per appliance runs this; `python app.py serve` starts it next to the gunicorn workers,
which never import apscheduler. Replicas sharing a PostgreSQL store each run one, and only the
holder of the store's leader lease (monitor/leadership.py) runs the jobs.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from core import metrics
from core.cli import settings_or_exit
from core.logs import configure_logging
from core.storage import StoreError, open_store, redact
from monitor import jobs
from monitor.leadership import Leadership, run_if_leading
from monitor.notifiers.alertmanager import REFRESH_SECONDS

log = logging.getLogger("tgwebhook.monitor")
DELIVER_INTERVAL_SECONDS = 1.0
PRUNE_INTERVAL_SECONDS = 3600.0
CERTIFICATE_INTERVAL_SECONDS = 86400.0


def build_scheduler(
    ctx: jobs.MonitorContext, leadership: Leadership | None = None
) -> BlockingScheduler:
    """The jobs; with `leadership`, each runs only while this process holds the lease."""
    scheduler = BlockingScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    interval = ctx.settings.poll_interval_seconds

    def every(func, seconds: float, job_id: str, args: tuple, first: dt.datetime | None = None):
        # next_run_time=None would add the job paused; omitted, the first run is one interval on.
        start = {"next_run_time": first} if first else {}
        scheduler.add_job(
            run_if_leading,
            "interval",
            seconds=seconds,
            id=job_id,
            args=(leadership, func, *args),
            max_instances=1,
            coalesce=True,  # a slow run is never stacked
            misfire_grace_time=max(1, int(seconds)),
            **start,
        )

    for bot in ctx.settings.bots:
        every(jobs.watch_bot, interval, f"watch:{bot}", (ctx, bot), first=now)
    every(jobs.deliver_notifications, DELIVER_INTERVAL_SECONDS, "deliver", (ctx,))
    every(jobs.record_samples, ctx.settings.sample_interval_seconds, "samples", (ctx,))
    every(jobs.prune, PRUNE_INTERVAL_SECONDS, "prune", (ctx,), first=now + dt.timedelta(minutes=1))
    if jobs.https_bots(ctx):
        every(
            jobs.check_certificates, CERTIFICATE_INTERVAL_SECONDS, "certificates", (ctx,), first=now
        )
    if "alertmanager" in ctx.notifiers:
        every(jobs.refresh_alertmanager, REFRESH_SECONDS, "alertmanager-refresh", (ctx,))
    if leadership:
        leadership.on_gain = lambda: run_now(scheduler, ("watch:", "certificates"))
        scheduler.add_job(
            leadership.renew,
            "interval",
            seconds=leadership.seconds / 3,
            id="leadership",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=1,
            next_run_time=now,
        )
    return scheduler


def run_now(scheduler: BlockingScheduler, prefixes: tuple[str, ...]) -> None:
    """A new leader polls at once instead of waiting out each job's interval."""
    now = dt.datetime.now(dt.UTC)
    for job in scheduler.get_jobs():
        if job.id.startswith(prefixes):
            job.modify(next_run_time=now)


def stop_on_signals(scheduler: BlockingScheduler) -> None:
    def stop(signum: int, frame) -> None:
        log.info("signal %d: finishing the current jobs, then exiting", signum)
        if scheduler.running:
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main() -> int:
    settings = settings_or_exit()
    configure_logging(settings)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per run is noise
    try:
        store = open_store(
            settings.db,
            timeout=settings.store_timeout_seconds,
            synchronous=settings.sqlite_synchronous,
        )
        ctx = jobs.MonitorContext.build(settings, store)
    except (StoreError, OSError) as exc:  # down is not an error here: only a refusal is
        log.error(
            "monitor cannot start: TGWEBHOOK_DB=%s cannot be used: %s", redact(settings.db), exc
        )
        return 2
    except ValueError as exc:
        log.error("monitor cannot start: %s", exc)
        return 2
    metrics.precreate(settings.bots, ())
    leadership = Leadership(store, settings.leader_lease_seconds)
    scheduler = build_scheduler(ctx, leadership)
    stop_on_signals(scheduler)
    log.info(
        "monitor: %d bots polled every %g s; channels: %s",
        len(ctx.clients),
        settings.poll_interval_seconds,
        ", ".join(ctx.notifiers) or "none",
    )
    scheduler.start()
    leadership.release()  # a clean stop hands over at once, not after the lease runs out
    store.close()
    log.info("monitor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
