"""Operational endpoints: /livez, /readyz, /health (application/health+json), /metrics."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from core import health, metrics
from core.collector import StoreCollector, polling_bots
from core.config import Settings
from core.storage import StatusStore, StoreError


def make_blueprint(store: StatusStore, settings: Settings) -> Blueprint:
    blueprint = Blueprint("health", __name__)
    collector = StoreCollector(store, settings)
    limits = health.Limits(
        settings.queue_age_threshold_seconds,
        settings.backlog_threshold,
        settings.poll_interval_seconds,
    )
    polled = [name for name, bot in settings.bots.items() if bot.token]
    polling = polling_bots(settings)

    def lag_buckets() -> dict[str, metrics.Buckets]:
        # Only configured bots: a histogram may hold others (a bot removed from the config, or
        # another app in the same process, as in the tests).
        return {bot: b for bot, b in metrics.forward_lag_buckets().items() if bot in settings.bots}

    lag_window = health.LagWindow(lag_buckets(), time.time())

    def store_error() -> str | None:
        try:
            store.check_writable()
        except StoreError as exc:
            return str(exc)
        return None

    @blueprint.get("/livez")
    def livez() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @blueprint.get("/readyz")
    def readyz() -> tuple[Response, int]:
        error = store_error()
        body = {"status": "fail", "output": error} if error else {"status": "pass"}
        return Response(json.dumps(body), mimetype="application/json"), 503 if error else 200

    @blueprint.get("/health")
    def health_view() -> tuple[Response, int]:
        now = time.time()
        checks: dict = {}
        try:
            stats = store.queue_stats(list(settings.bots), now, polling)
            checks |= health.queue_checks(stats, limits)
            polled_at = {bot: store.poll_cursor(bot).polled_at for bot in polling}
            checks |= health.poll_checks(stats, polled_at, limits, now)
            observations = {bot: store.latest_observation(bot) for bot in polled}
            last_ok = {bot: store.last_successful_poll(bot) for bot in polled}
            checks |= health.telegram_checks(observations, last_ok, limits, now)
        except StoreError:
            pass  # store:writable below reports it
        checks |= health.lag_checks(lag_window.observe(lag_buckets(), now), limits)
        document = health.assemble(store_error(), checks, now)
        status = 503 if document["status"] == "fail" else 200
        return Response(json.dumps(document), mimetype="application/health+json"), status

    @blueprint.get("/metrics")
    def metrics_view() -> Response:
        scrape = CollectorRegistry()
        scrape.register(collector)
        if metrics.is_multiprocess():
            # A fresh registry per scrape, as the prometheus_client multiprocess docs require.
            MultiProcessCollector(scrape)
            text = generate_latest(scrape)
        else:
            text = generate_latest(REGISTRY) + generate_latest(scrape)
        return Response(text, mimetype=CONTENT_TYPE_LATEST)

    return blueprint
