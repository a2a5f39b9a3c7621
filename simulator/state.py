"""Simulator state: the bots (auto-created per token), their calls, updates and webhooks."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import policy, tokens
from simulator.delivery import Delivery
from simulator.faults import FaultBook
from simulator.flood import FloodModel
from simulator.journal import Pending
from simulator.updates import UpdateFactory, is_shorthand

CALL_LOG_SIZE = 20_000


@dataclass
class SimConfig:
    time_factor: float = 1.0
    local: bool = True
    webhook_timeout: float = 60.0
    seed: int | None = None
    # Trust store for https webhooks without an uploaded certificate; None: the system's.
    ca_file: str | None = None


@dataclass
class Bot:
    token: str
    user: dict[str, Any]
    delivery: Delivery
    factory: UpdateFactory
    next_update_id: int
    revoked: bool = False
    allowed: frozenset[str] = policy.DEFAULT_ALLOWED
    calls: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=CALL_LOG_SIZE))
    next_set_webhook_at: float = 0.0
    sync_error_date: int = 0
    flood: FloodModel = field(default_factory=FloodModel)

    @property
    def id(self) -> int:
        return int(self.user["id"])

    def record_call(self, method: str, values: dict[str, Any], source: str) -> dict[str, Any]:
        entry = {"method": method, "params": values, "time": time.time(), "source": source}
        self.calls.append(entry)
        return entry

    def inject(self, items: list[dict[str, Any]], time_factor: float) -> tuple[list, list]:
        """Turn specs into updates with fresh update_ids; returns (queued, skipped)."""
        queued: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for item in items:
            kind, body = self._build(item)
            if not policy.is_allowed(kind, self.allowed):
                # Telegram never creates updates of types the bot did not allow.
                skipped.append({"type": kind, "reason": "not in allowed_updates"})
                continue
            update = {"update_id": self.next_update_id, kind: body}
            self.next_update_id += 1
            self._enqueue(kind, update, time_factor)
            queued.append(update)
        return queued, skipped

    def redeliver(self, update_id: int, time_factor: float) -> dict[str, Any]:
        """Send an already delivered update again, as Telegram does when our answer was lost."""
        done = self.delivery.journal.archive.get(update_id)
        if done is None:
            raise KeyError(update_id)
        self._enqueue(done.kind, done.update, time_factor)
        return done.update

    def _build(self, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not isinstance(item, dict) or not item:
            raise ValueError("each update must be a non-empty JSON object")
        if "update_id" in item:
            raise ValueError("update_id is assigned by the simulator; use redeliver to repeat one")
        if is_shorthand(item):
            return self.factory.from_shorthand(item)
        if len(item) != 1:
            raise ValueError("a full update has exactly one field besides update_id")
        kind = policy.update_type(item)
        return kind, item[kind]

    def _enqueue(self, kind: str, update: dict[str, Any], time_factor: float) -> None:
        body = update[kind] if isinstance(update[kind], dict) else {}
        ttl = policy.ttl_seconds(kind, body, int(time.time()))
        # Types without a chat or user get a queue of their own: no ordering constraint.
        key = policy.queue_key(kind, body) or f"solo:{update['update_id']}"
        expires = time.monotonic() + ttl * time_factor
        self.delivery.enqueue(Pending(update=update, kind=kind, key=key, expires_at=expires))


class Registry:
    """All bots known to this simulator, plus the faults that apply to them."""

    def __init__(self, config: SimConfig, reply_handler: Callable[[Bot, dict], Awaitable[None]]):
        self.config = config
        self.rng = random.Random(config.seed)
        self.bots: dict[str, Bot] = {}
        self.faults = FaultBook()
        self._reply_handler = reply_handler

    def get(self, token: str) -> Bot | None:
        """The bot for a well-formed token, created on first use; None if malformed."""
        # Any well-formed token is a bot, as if BotFather had issued it: tests need no setup.
        if token in self.bots:
            return self.bots[token]
        bot_id = tokens.bot_id(token)
        if bot_id is None:
            return None
        bot = self._new_bot(token, bot_id)
        self.bots[token] = bot
        return bot

    def _new_bot(self, token: str, bot_id: int) -> Bot:
        user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": f"Sim Bot {bot_id}",
            "username": f"sim_{bot_id}_bot",
        }
        holder: list[Bot] = []

        async def on_reply(call: dict[str, Any]) -> None:
            await self._reply_handler(holder[0], call)

        rng = random.Random(self.rng.random())
        delivery = Delivery(
            self.config.time_factor, self.config.webhook_timeout, rng, on_reply, self.config.ca_file
        )
        first_id = rng.randint(10**8, 9 * 10**8)  # Telegram starts update_ids at random
        bot = Bot(token, user, delivery, UpdateFactory(user, rng), first_id)
        holder.append(bot)
        return bot

    async def reset(self) -> None:
        for bot in self.bots.values():
            await bot.delivery.stop()
        self.bots.clear()
        self.faults.clear()

    async def close(self) -> None:
        await self.reset()
