"""Blocking client for the admin API (stdlib only), used by tests and the demo."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from simulator.flood import early_sends

T = TypeVar("T")


class AdminError(RuntimeError):
    """The admin API refused a request (`{"ok": false, "error": ...}`)."""


class AdminClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        url = f"{self.base_url}/admin/{path}"
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += "?" + urllib.parse.urlencode(pairs)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
        if not answer.get("ok"):
            raise AdminError(answer.get("error", "admin request failed"))
        return answer["result"]

    def _bot(self, verb: str, token: str, action: str, body: Any = None, **query: Any) -> Any:
        return self.request(verb, f"bots/{urllib.parse.quote(token)}/{action}", body, query)

    # -- state --------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.request("GET", "health")

    def reset(self) -> None:
        self.request("POST", "reset")

    def bot(self, token: str) -> dict[str, Any]:
        return self.request("GET", f"bots/{urllib.parse.quote(token)}")

    def webhook_info(self, token: str) -> dict[str, Any]:
        """getWebhookInfo fields plus secret_token, target, in_flight and queues."""
        return self._bot("GET", token, "webhook")

    # -- updates ------------------------------------------------------------------------
    def inject(
        self, token: str, *updates: dict[str, Any], **shorthand: Any
    ) -> list[dict[str, Any]]:
        """Queue updates (full objects or shorthand); returns them with their update_ids."""
        items = list(updates) + ([shorthand] if shorthand else [])
        return self._bot("POST", token, "updates", items)

    def redeliver(self, token: str, update_id: int) -> dict[str, Any]:
        return self._bot("POST", token, "redeliver", {"update_id": update_id})[0]

    def set_next_update_id(self, token: str, next_id: int) -> int:
        return self._bot("POST", token, "update_id", {"next": next_id})

    def set_sync_error(self, token: str, date: int | None = None) -> int:
        return self._bot("POST", token, "sync_error", {} if date is None else {"date": date})

    # -- faults ---------------------------------------------------------------------------
    def add_fault(
        self, method: str = "*", token: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """E.g. add_fault("sendMessage", error_code=429, retry_after=3, times=2)."""
        spec = {"method": method, **fields}
        if token is not None:
            spec["token"] = token
        return self.request("POST", "faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        return self.request("GET", "faults")

    def clear_faults(self, token: str | None = None) -> int:
        return self.request("DELETE", "faults", query={"token": token})

    def revoke(self, token: str) -> None:
        self._bot("POST", token, "revoke")

    def unrevoke(self, token: str) -> None:
        self._bot("POST", token, "unrevoke")

    # -- flood model ---------------------------------------------------------------------
    def flood(self, token: str) -> dict[str, Any]:
        """Limits, counters (`answered_429`, `by_reason`, `by_chat`, `passed`), live
        penalties and pending forced floods."""
        return self._bot("GET", token, "flood")

    def enable_flood(self, token: str, enabled: bool = True, **limits: Any) -> dict[str, Any]:
        """Turn the flood model on (or off) for a bot; `limits`: FloodLimits fields, e.g.
        private_per_second=1.0, private_burst=3, group_per_minute=20, global_per_second=30."""
        return self._bot("POST", token, "flood", {"enabled": enabled, **limits})

    def force_flood(
        self,
        token: str,
        chat_id: int | str,
        retry_after: int = 1,
        method: str | None = None,
        times: int = 1,
    ) -> dict[str, Any]:
        """The next `times` sends to the chat (of `method` only, if given) answer 429."""
        body = {"chat_id": chat_id, "retry_after": retry_after, "times": times, "method": method}
        return self._bot("POST", token, "force_flood", body)

    def clear_flood(self, token: str) -> dict[str, Any]:
        return self._bot("DELETE", token, "flood")

    def early_sends(self, token: str, slack: float = 0.0) -> list[dict[str, Any]]:
        """Sends that reached the simulator before a retry_after it gave for their (method,
        chat): empty for a client that honours 429s."""
        return early_sends(self.calls(token), slack)

    # -- inspection ---------------------------------------------------------------------
    def calls(
        self,
        token: str,
        method: str | None = None,
        source: str | None = None,
        since: float | None = None,
    ) -> list[dict[str, Any]]:
        return self._bot("GET", token, "calls", method=method, source=source, since=since)

    def clear_calls(self, token: str) -> None:
        self._bot("DELETE", token, "calls")

    def deliveries(
        self,
        token: str,
        update_id: int | None = None,
        outcome: str | None = None,
        chat_id: int | None = None,
    ) -> list[dict[str, Any]]:
        query = {"update_id": update_id, "outcome": outcome, "chat_id": chat_id}
        return self._bot("GET", token, "deliveries", **query)

    def clear_deliveries(self, token: str) -> None:
        self._bot("DELETE", token, "deliveries")

    # -- traffic --------------------------------------------------------------------------
    def start_traffic(
        self,
        token: str,
        rate: float,
        chats: int = 10,
        duplicates: float = 0.0,
        mix: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "token": token,
            "rate": rate,
            "chats": chats,
            "duplicates": duplicates,
        }
        if mix is not None:
            spec["mix"] = mix
        return self.request("POST", "traffic", spec)

    def stop_traffic(self, token: str | None = None) -> Any:
        return self.request("DELETE", "traffic", query={"token": token})

    def traffic(self) -> list[dict[str, Any]]:
        return self.request("GET", "traffic")

    # -- bounded waits --------------------------------------------------------------------
    def wait_for(
        self, probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02
    ) -> T:
        """Poll `probe` until it returns something truthy; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)

    def wait_delivered(self, token: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait for `count` successful deliveries; returns those attempts."""

        def probe() -> list[dict[str, Any]] | None:
            done = self.deliveries(token, outcome="delivered")
            return done if len(done) >= count else None

        return self.wait_for(probe, timeout)

    def wait_idle(self, token: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until nothing is pending or in flight; returns the webhook view."""

        def probe() -> dict[str, Any] | None:
            info = self.webhook_info(token)
            return info if info["pending_update_count"] == 0 and info["in_flight"] == 0 else None

        return self.wait_for(probe, timeout)
