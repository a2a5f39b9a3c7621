"""The appliance in poll mode behind the simulator: Telegram (the simulator) delivers to the
appliance's webhook, a polling bot calls the appliance's Bot API proxy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

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
