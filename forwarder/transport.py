"""The HTTP seam to the bot backend: one POST per update, in Telegram's webhook format.

Every outcome, including a refused connection or a timeout, becomes an `Answer`; error texts
never carry the forward URL (it may hold a secret path) or a bot token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from core.config import Secret
from core.telegram import redact
from forwarder.policy import parse_retry_after

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all (connection refused, timeout)
    duration: float
    error: str = ""  # why this is not a success; "" for 2xx
    retry_after: float | None = None
    content_type: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Backend:
    """One requests.Session (keep-alive, like Telegram); use one per thread."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, url: str, body: bytes, secret: Secret) -> Answer:
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret.reveal()
        started = time.monotonic()
        try:
            # Telegram does not follow redirects; neither do we (a 3xx is a failure).
            response = self.session.post(
                url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return Answer(None, time.monotonic() - started, error=describe(exc, url))
        duration = time.monotonic() - started
        content_type = response.headers.get("Content-Type", "")
        if 200 <= response.status_code < 300:
            return Answer(response.status_code, duration, "", None, content_type, response.content)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
        error = f"HTTP {response.status_code}: {snippet(response.content)}".rstrip(": ")
        return Answer(response.status_code, duration, error, retry_after, content_type)

    def close(self) -> None:
        self.session.close()


def describe(exc: Exception, url: str) -> str:
    text = f"{type(exc).__name__}: {exc}"
    parts = urlsplit(url)
    for secret_part in (url, parts.path + (f"?{parts.query}" if parts.query else "")):
        if len(secret_part) > 1:
            text = text.replace(secret_part, "<forward_url>")
    return redact(text)[:500]


def snippet(body: bytes) -> str:
    text = body[: ERROR_BODY_CHARS * 4].decode("utf-8", "replace")
    return redact(" ".join(text.split()))[:ERROR_BODY_CHARS]
