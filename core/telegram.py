"""The one seam to the Bot API. Every failure becomes a TelegramError; the token never leaves
this module in a log line or an exception text."""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from core.config import Secret

# Telegram sends setWebhook's secret_token in this header with every update.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TOKEN_IN_TEXT = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
# Errors that will not change by retrying the same call.
PERMANENT_CODES = {400, 401, 403, 404}


class TelegramError(Exception):
    def __init__(
        self,
        description: str,
        error_code: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(description if error_code is None else f"{error_code}: {description}")
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.permanent = permanent


def redact(text: str, token: Secret | str = "") -> str:
    raw = token.reveal() if isinstance(token, Secret) else token
    if raw:
        text = text.replace(raw, "<token>")
    return TOKEN_IN_TEXT.sub("bot<token>", text)


class TelegramClient:
    def __init__(
        self,
        token: Secret,
        api_base: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call a Bot API method with JSON params and return its `result`."""
        return self._post(method, json=params or {})

    def call_with_body(self, method: str, body: bytes, content_type: str) -> Any:
        """Call a method with a body already encoded (a multipart upload, files and all)."""
        return self._post(method, data=body, headers={"Content-Type": content_type})

    def _post(self, method: str, **request: Any) -> Any:
        if not self._token:
            raise TelegramError("no bot token configured", permanent=True)
        url = f"{self._base}/bot{self._token.reveal()}/{method}"
        try:
            response = self._session.post(url, timeout=self._timeout, **request)
        except requests.RequestException as exc:
            raise TelegramError(redact(f"{type(exc).__name__}: {exc}", self._token)) from None
        return self._result(response)

    def _result(self, response: requests.Response) -> Any:
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            permanent = response.status_code in PERMANENT_CODES
            raise TelegramError(
                f"HTTP {response.status_code} without a Bot API answer",
                response.status_code,
                permanent=permanent,
            )
        if envelope.get("ok"):
            return envelope.get("result")
        code = envelope.get("error_code") or response.status_code
        parameters = envelope.get("parameters") or {}
        raise TelegramError(
            redact(str(envelope.get("description", "unknown error")), self._token),
            code,
            retry_after=parameters.get("retry_after"),
            permanent=code in PERMANENT_CODES,
        )

    def get_me(self) -> dict:
        return self.call("getMe")

    def get_webhook_info(self) -> dict:
        return self.call("getWebhookInfo")

    def set_webhook(
        self,
        url: str,
        *,
        secret_token: Secret,
        max_connections: int = 40,
        allowed_updates: tuple[str, ...] = (),
        drop_pending_updates: bool = False,
        certificate: bytes | None = None,
    ) -> bool:
        """`certificate`: a self-signed PEM certificate, uploaded (multipart) so that Telegram
        trusts it for this webhook; Telegram accepts a self-signed one no other way."""
        params: dict[str, Any] = {
            "url": url,
            "max_connections": max_connections,
            "drop_pending_updates": drop_pending_updates,
        }
        if secret_token:
            params["secret_token"] = secret_token.reveal()
        # An empty list means "all types" to Telegram only when sent; omit to keep the current.
        params["allowed_updates"] = list(allowed_updates)
        if certificate is None:
            return bool(self.call("setWebhook", params))
        # In a multipart form every value is text: JSON for lists and booleans, as Telegram reads.
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        upload = {"certificate": ("certificate.pem", certificate, "application/x-pem-file")}
        return bool(self._post("setWebhook", data=fields, files=upload))

    def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        return bool(self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates}))

    def send_message(self, chat_id: int | str, text: str, **extra: Any) -> dict:
        return self.call("sendMessage", {"chat_id": chat_id, "text": text, **extra})
