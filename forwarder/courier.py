"""Delivers one claimed update: POST it, record the outcome, then run any webhook reply.

The outcome is committed right after the bot answers and before anything else happens (the
chat's next update, the reply), so a delivered update is never delivered again; a crash between
the POST and that commit is the only window in which the same update can reach the bot twice.
Outcomes of all chats are committed together (forwarder/outbox.py), and the transaction that
records one also leases the chat's next update, which `deliver` returns.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

from core import flood, metrics
from core.config import Settings
from core.storage import (
    DEAD_NOW,
    DELIVERED_NOW,
    RELEASE,
    RETRY,
    Outcome,
    QueuedUpdate,
    Recorded,
    StoreError,
)
from core.telegram import TelegramClient, TelegramError
from forwarder import policy
from forwarder.outage import OutageWatch
from forwarder.outbox import Outbox
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
    """Shared by every chat of one forwarder; each call of `deliver` is one chat's turn."""

    def __init__(
        self,
        outbox: Outbox,
        settings: Settings,
        owner: str,
        watch: OutageWatch,
        backends: dict[str, Backend],
        replies: Executor,
        lease_until: Callable[[], float | None],
        retry_at: Callable[[float], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.owner = owner
        self.watch = watch
        self.backends = backends
        self.replies = replies
        self.lease_until = lease_until  # None once the forwarder stops: take no next update
        self.retry_at = retry_at
        self.clock = clock
        self.budget = budget_of(settings)
        self._local = threading.local()  # a Bot API client per reply thread

    async def deliver(self, update: QueuedUpdate) -> QueuedUpdate | None:
        """Deliver `update`; returns the chat's next update, now leased to us, if any."""
        bot = self.settings.bots[update.bot]
        if update.body is None:  # purged or never stored: nothing could ever succeed
            answer = Answer(None, 0.0, error="payload missing (purged)")
        else:
            answer = await self.backends[update.bot].post(
                bot.forward_url, update.body, bot.forward_secret_token
            )
            metrics.FORWARD_DURATION.labels(update.bot).observe(answer.duration)
        if not answer.ok:
            return await self._failed(update, answer)
        self.watch.record_success(update.bot)
        metrics.FORWARD_LAG.labels(update.bot).observe(max(0.0, self.clock() - update.received_at))
        return await self._delivered(update, answer)

    async def _record(self, update: QueuedUpdate, kind: str, **fields) -> Recorded:
        outcome = Outcome(
            kind,
            update.id,
            self.owner,
            self.clock(),
            bot=update.bot,
            chat_key=update.chat_key,
            advance_until=self.lease_until(),
            **fields,
        )
        return await self.outbox.record(outcome)

    async def _failed(self, update: QueuedUpdate, answer: Answer) -> QueuedUpdate | None:
        now = self.clock()
        attempts = update.attempts + 1
        budget = self.budget if update.body is not None else policy.Budget(1, 0, 0)
        outage = update.body is not None and self.watch.record_failure(update.bot, update.chat_key)
        decision = policy.after_failure(
            attempts, update.budget_from, now, budget, answer.retry_after, random.random(), outage
        )
        if decision.dead or decision.next_attempt_at is None:
            recorded = await self._record(update, DEAD_NOW, error=answer.error)
            metrics.FORWARD_ATTEMPTS.labels(update.bot, "dead").inc()
            log.error(
                "update %s of bot %s is a dead letter after %d attempts: %s "
                "(python app.py dlq show %s)",
                update.update_id,
                update.bot,
                attempts,
                answer.error,
                update.id,
            )
            return recorded.next
        retry_at = decision.next_attempt_at
        await self._record(update, RETRY, next_attempt_at=retry_at, error=answer.error)
        self.retry_at(retry_at)
        metrics.FORWARD_ATTEMPTS.labels(update.bot, "retry").inc()
        log.warning(
            "update %s of bot %s not delivered (attempt %d%s): %s; retry in %.1f s",
            update.update_id,
            update.bot,
            attempts,
            ", bot failing in several chats: not counted" if outage else "",
            answer.error,
            retry_at - now,
        )
        return None

    async def _delivered(self, update: QueuedUpdate, answer: Answer) -> QueuedUpdate | None:
        try:
            reply, problem = parse_reply(answer.content_type, answer.body), ""
        except InvalidReply as exc:
            reply, problem = None, str(exc)
        # The chat stays leased while its reply runs: Telegram runs a webhook reply before
        # it sends the chat's next update.
        keep = self.settings.payload_retention_hours > 0
        recorded = await self._record(update, DELIVERED_NOW, hold=reply is not None, keep_body=keep)
        metrics.FORWARD_ATTEMPTS.labels(update.bot, "delivered").inc()
        if not recorded.fenced:
            log.warning(
                "lease on update %s of bot %s expired during delivery; another claimer owns it now",
                update.update_id,
                update.bot,
            )
            return None
        if problem:
            self._reply_failed(update, "?", problem)
        if reply is None:
            return recorded.next
        try:
            started = time.monotonic()
            if await self._reply_turn(update, reply, started):
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(
                    self.replies, self._run_reply, update, reply, answer, started
                )
        finally:
            recorded = await self._release(update)
        return recorded.next

    async def _reply_turn(self, update: QueuedUpdate, reply: Reply, started: float) -> bool:
        """Wait for the reply's turn, shaped with the proxy's calls (core/flood.py); the chat
        stays leased while it waits. False (counted, logged) when it would wait too long."""
        chat_id = reply.params.get("chat_id")
        store, bot = self.outbox.store, update.bot
        refused = await flood.shape_call(store, self.settings, bot, reply.method, chat_id)
        if refused is None:
            return True
        flood.count_call(bot, reply.method, "shaped", started)
        why = f"flood shaping: its chat's turn is {refused} s away (> FLOOD_MAX_WAIT_SECONDS)"
        self._reply_failed(update, reply.method, why)
        return False

    def _run_reply(
        self, update: QueuedUpdate, reply: Reply, answer: Answer, started: float
    ) -> None:
        client = self._client(update.bot)
        chat_id, store = reply.params.get("chat_id"), self.outbox.store
        try:
            if reply.files:  # an upload goes on byte for byte, as Telegram would have read it
                client.call_with_body(reply.method, answer.body, answer.content_type)
            else:
                client.call(reply.method, reply.params)
        except TelegramError as exc:  # already redacted by the client
            if exc.error_code == 429 and exc.retry_after is not None:
                flood.note_flood(
                    store, self.settings, update.bot, reply.method, chat_id, exc.retry_after
                )
            flood.count_call(update.bot, reply.method, flood.outcome_of(exc.error_code), started)
            self._reply_failed(update, reply.method, str(exc))
            return
        flood.count_call(update.bot, reply.method, "ok", started)
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

    async def _release(self, update: QueuedUpdate) -> Recorded:
        try:
            return await self._record(update, RELEASE)
        except StoreError as exc:  # the lease then simply expires
            log.warning("could not release chat of update %s: %s", update.update_id, exc)
            return Recorded(fenced=False)

    def _client(self, bot: str) -> TelegramClient:
        clients = self._local.__dict__.setdefault("clients", {})
        if bot not in clients:
            clients[bot] = TelegramClient(
                self.settings.bots[bot].token,
                self.settings.api_base,
                self.settings.http_timeout_seconds,
            )
        return clients[bot]
