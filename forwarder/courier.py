"""Delivers one claimed update: POST it, write the outcome, then run any webhook reply.

The outcome row is written right after the bot answers and before anything else happens,
so a delivered update is never delivered again; a crash between the POST and that write is
the only window in which the same update can reach the bot twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from core import metrics
from core.config import Settings
from core.storage import QueuedUpdate, StoreError
from core.telegram import TelegramClient, TelegramError
from forwarder import policy
from forwarder.outage import OutageWatch
from forwarder.replies import InvalidReply, Reply, parse_reply
from forwarder.transport import Answer, Backend

log = logging.getLogger(__name__)


def budget_of(settings: Settings) -> policy.Budget:
    return policy.Budget(
        max_attempts=settings.forward_max_attempts,
        max_age_seconds=settings.forward_max_age_hours * 3600,
        backoff_cap_seconds=settings.forward_backoff_cap_seconds,
    )


class Courier:
    """Per worker thread: its own HTTP session to the backends and Bot API clients."""

    def __init__(
        self,
        store,
        settings: Settings,
        owner: str,
        watch: OutageWatch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner
        self.watch = watch
        self.clock = clock
        self.budget = budget_of(settings)
        self.backend = Backend(settings.forward_timeout_seconds)
        self._telegram: dict[str, TelegramClient] = {}

    def deliver(self, update: QueuedUpdate) -> str:
        """Returns the result counted in tgwebhook_forward_attempts_total."""
        bot = self.settings.bots[update.bot]
        if update.body is None:  # purged or never stored: nothing could ever succeed
            answer = Answer(None, 0.0, error="payload missing (purged)")
        else:
            answer = self.backend.post(bot.forward_url, update.body, bot.forward_secret_token)
            metrics.FORWARD_DURATION.labels(update.bot).observe(answer.duration)
        if answer.ok:
            self.watch.record_success(update.bot)
        result = self._delivered(update, answer) if answer.ok else self._failed(update, answer)
        metrics.FORWARD_ATTEMPTS.labels(update.bot, result).inc()
        return result

    def _failed(self, update: QueuedUpdate, answer: Answer) -> str:
        now = self.clock()
        attempts = update.attempts + 1
        budget = self.budget if update.body is not None else policy.Budget(1, 0, 0)
        outage = update.body is not None and self.watch.record_failure(update.bot, update.chat_key)
        decision = policy.after_failure(
            attempts, update.budget_from, now, budget, answer.retry_after, random.random(), outage
        )
        if decision.dead:
            self.store.record_dead(update.id, self.owner, answer.error)
            log.error(
                "update %s of bot %s is a dead letter after %d attempts: %s "
                "(python app.py dlq show %s)",
                update.update_id,
                update.bot,
                attempts,
                answer.error,
                update.id,
            )
            return "dead"
        self.store.record_retry(update.id, self.owner, decision.next_attempt_at, answer.error)
        log.warning(
            "update %s of bot %s not delivered (attempt %d%s): %s; retry in %.1f s",
            update.update_id,
            update.bot,
            attempts,
            ", bot failing in several chats: not counted" if outage else "",
            answer.error,
            decision.next_attempt_at - now,
        )
        return "retry"

    def _delivered(self, update: QueuedUpdate, answer: Answer) -> str:
        try:
            reply, problem = parse_reply(answer.content_type, answer.body), ""
        except InvalidReply as exc:
            reply, problem = None, str(exc)
        # The chat stays leased while its reply runs: Telegram runs a webhook reply before
        # it sends the chat's next update.
        if not self.store.record_delivered(
            update.id, self.owner, self.clock(), hold=reply is not None
        ):
            log.warning(
                "lease on update %s of bot %s expired during delivery; another claimer owns it now",
                update.update_id,
                update.bot,
            )
            return "delivered"
        if problem:
            self._reply_failed(update, "?", problem)
        if reply is not None:
            try:
                self._run_reply(update, reply, answer)
            finally:
                self._release(update)
        return "delivered"

    def _run_reply(self, update: QueuedUpdate, reply: Reply, answer: Answer) -> None:
        client = self._client(update.bot)
        try:
            if reply.files:  # an upload goes on byte for byte, as Telegram would have read it
                client.call_with_body(reply.method, answer.body, answer.content_type)
            else:
                client.call(reply.method, reply.params)
        except TelegramError as exc:  # already redacted by the client
            self._reply_failed(update, reply.method, str(exc))
            return
        metrics.FORWARD_ATTEMPTS.labels(update.bot, "reply_ok").inc()

    def _reply_failed(self, update: QueuedUpdate, method: str, why: str) -> None:
        metrics.FORWARD_ATTEMPTS.labels(update.bot, "reply_failed").inc()
        log.warning(
            "webhook reply %s to update %s of bot %s failed: %s",
            method,
            update.update_id,
            update.bot,
            why,
        )

    def _release(self, update: QueuedUpdate) -> None:
        try:
            self.store.release(update.id, self.owner)
        except StoreError as exc:  # the lease then simply expires
            log.warning("could not release chat of update %s: %s", update.update_id, exc)

    def _client(self, bot: str) -> TelegramClient:
        if bot not in self._telegram:
            self._telegram[bot] = TelegramClient(
                self.settings.bots[bot].token,
                self.settings.api_base,
                self.settings.http_timeout_seconds,
            )
        return self._telegram[bot]

    def close(self) -> None:
        self.backend.close()
