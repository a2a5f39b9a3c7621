"""The appliance in poll mode behind the simulator: Telegram (the simulator) delivers to the
appliance's webhook, a polling bot calls the appliance's Bot API proxy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from core.storage import open_store
from simulator.harness import Simulator
from tests.helpers.live_stack import set_webhook
from tests.helpers.support import SECRET, Served, ops_url


@dataclass(frozen=True)
class PollStack:
    sim: Simulator
    served: Served
    token: str

    @property
    def api_base(self) -> str:
        """What the bot is given instead of https://api.telegram.org."""
        return ops_url(self.served)

    def call(self, method: str, **params: Any) -> requests.Response:
        url = f"{self.api_base}/bot{self.token}/{method}"
        return requests.post(url, json=params, timeout=60)

    def inject(self, *updates: dict) -> list[dict]:
        return self.sim.admin.inject(self.token, *updates)


def poll_stack(sim: Simulator, serve: Callable[..., Served], token: str, **env: Any) -> PollStack:
    """`serve` with no forward URL (poll mode) and the simulator as Telegram, webhook set."""
    served = serve({"BOT_TOKEN": token, "API_BASE": sim.base_url, **env})
    set_webhook(sim, token, served.base_url + "/webhook/default", SECRET)
    return PollStack(sim, served, token)


def text_message(chat_id: int, text: str) -> dict:
    """The simulator's shorthand for a new text message in `chat_id`."""
    return {"type": "message", "chat_id": chat_id, "text": text}


def handled(log: Path) -> list[tuple[int, int, str]]:
    """What a polling bot's handler ran for: (update_id, chat_id, text) in handling order."""
    if not log.exists():
        return []
    rows = [line.split(" ", 2) for line in log.read_text().splitlines()]
    return [(int(u), int(c), t) for u, c, t in rows]


def inject_chats(stack: PollStack, per_chat: int, chats: tuple[int, ...]) -> list[dict]:
    updates = [text_message(chat, f"m{i}") for i in range(per_chat) for chat in chats]
    return stack.inject(*updates)


def served_all(stack: PollStack, sent: list[dict]) -> bool:
    """True once every sent update was handed to the bot and none is confirmed yet."""
    store = open_store(str(stack.served.db))
    try:
        rows = [store.get_update("default", u["update_id"]) for u in sent]
        if any(row is None for row in rows) or store.unconfirmed_count("default") != len(sent):
            return False
        return store.poll_cursor("default").served_through >= max(row["id"] for row in rows)
    finally:
        store.close()
