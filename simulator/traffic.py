"""Synthetic traffic: N updates/s over M chats of realistic types, with a share of re-deliveries."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from simulator.state import Bot, Registry

DEFAULT_MIX = {"message": 0.8, "edited_message": 0.08, "callback_query": 0.08, "inline_query": 0.04}
TEXTS = (
    "/start",
    "/help",
    "hello",
    "How are you?",
    "What's the price?",
    "Order #4711 status please",
    "👍",
    "Thanks!",
    "Можно вопрос?",
    "see https://example.org/page",
)
TICK = 0.02
MAX_BATCH = 1000
RECENT_WINDOW = 50


@dataclass
class TrafficSpec:
    token: str
    rate: float
    chats: int = 10
    duplicates: float = 0.0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))

    def validate(self) -> None:
        if not 0 < self.rate <= 100_000:
            raise ValueError("rate must be in (0, 100000] updates/s")
        if not 1 <= self.chats <= 1_000_000:
            raise ValueError("chats must be in 1..1000000")
        if not 0 <= self.duplicates <= 1:
            raise ValueError("duplicates must be a share in 0..1")
        unknown = set(self.mix) - set(DEFAULT_MIX)
        if unknown or not self.mix or min(self.mix.values()) < 0 or sum(self.mix.values()) <= 0:
            raise ValueError(f"mix weights must be >= 0 over {sorted(DEFAULT_MIX)}")


class TrafficGenerator:
    def __init__(self, bot: Bot, spec: TrafficSpec, time_factor: float, rng: random.Random) -> None:
        self.bot, self.spec, self.time_factor, self.rng = bot, spec, time_factor, rng
        self.generated = 0
        self.duplicated = 0
        # About a third of the chats are groups (negative ids), the rest private chats.
        self.chat_ids = [self._chat_id(i) for i in range(spec.chats)]

    def _chat_id(self, i: int) -> int:
        if i % 3 == 2:
            return -1_001_000_000_000 - i
        return 100_000_000 + i * 7919

    async def run(self) -> None:
        started = time.monotonic()
        produced = 0
        while True:
            # Pace by elapsed time, not by sleep accuracy, so high rates stay accurate.
            due = int((time.monotonic() - started) * self.spec.rate) - produced
            for _ in range(min(due, MAX_BATCH)):
                self.emit_one()
            produced += max(due, 0)  # a stalled loop skips, it never bursts more than a batch
            await asyncio.sleep(min(TICK, 1 / self.spec.rate))

    def emit_one(self) -> None:
        archive = self.bot.delivery.journal.archive
        if archive and self.rng.random() < self.spec.duplicates:
            # Re-deliveries hit recent updates: Telegram repeats those whose answer got lost.
            recent = list(islice(reversed(archive), self.rng.randint(1, RECENT_WINDOW)))
            self.bot.redeliver(recent[-1], self.time_factor)
            self.duplicated += 1
            return
        self.bot.inject([self._spec()], self.time_factor)
        self.generated += 1

    def _spec(self) -> dict[str, Any]:
        kinds, weights = zip(*self.spec.mix.items(), strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        chat_id = self.rng.choice(self.chat_ids)
        text = self.rng.choice(TEXTS)
        if kind == "callback_query":
            return {"type": kind, "chat_id": chat_id, "data": f"btn:{self.rng.randint(1, 9)}"}
        if kind == "inline_query":
            return {"type": kind, "user_id": abs(chat_id) % 10**9 + 1, "query": text}
        return {"type": kind, "chat_id": chat_id, "text": text}

    def status(self) -> dict[str, Any]:
        return {
            "token": self.spec.token,
            "rate": self.spec.rate,
            "chats": self.spec.chats,
            "duplicates": self.spec.duplicates,
            "mix": self.spec.mix,
            "generated": self.generated,
            "duplicated": self.duplicated,
        }


class TrafficBoard:
    """Running generators, at most one per bot."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.running: dict[str, tuple[TrafficGenerator, asyncio.Task[None]]] = {}

    async def start(self, spec: TrafficSpec) -> dict[str, Any]:
        spec.validate()
        bot = self.registry.get(spec.token)
        if bot is None:
            raise ValueError("malformed token")
        await self.stop(spec.token)
        rng = random.Random(self.registry.rng.random())
        generator = TrafficGenerator(bot, spec, self.registry.config.time_factor, rng)
        task = asyncio.get_running_loop().create_task(generator.run())
        self.running[spec.token] = (generator, task)
        return generator.status()

    async def stop(self, token: str) -> dict[str, Any] | None:
        entry = self.running.pop(token, None)
        if entry is None:
            return None
        entry[1].cancel()
        await asyncio.gather(entry[1], return_exceptions=True)
        return entry[0].status()

    async def stop_all(self) -> None:
        for token in list(self.running):
            await self.stop(token)

    def status(self) -> list[dict[str, Any]]:
        return [generator.status() for generator, _ in self.running.values()]
