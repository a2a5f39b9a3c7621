"""One webhook POST, sent the way Telegram's WebhookActor sends it, and its classified outcome."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from core.telegram import SECRET_HEADER
from simulator import webhook_errors
from simulator.webhook_settings import WebhookSettings

CONNECT_TIMEOUT = 10.0
MAX_REPLY = 1024 * 1024


@dataclass
class AttemptResult:
    ok: bool
    status: int | None
    error: str | None
    retry_after: int
    reply: dict[str, Any] | None
    duration: float


class PinnedResolver(AbstractResolver):
    """Connect to the IP Telegram resolved (or was told via ip_address), keep Host/SNI as named."""

    def __init__(self, ip: str) -> None:
        self.ip = ip

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        fam = socket.AF_INET6 if ":" in self.ip else socket.AF_INET
        return [
            ResolveResult(
                hostname=host,
                host=self.ip,
                port=port,
                family=fam,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def open_session(
    settings: WebhookSettings, ip: str, ca_file: str | None = None
) -> aiohttp.ClientSession:
    """A keep-alive pool for one webhook, sized by its max_connections."""
    # Keep-alive connections like Telegram's; the pool never exceeds max_connections.
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections, resolver=PinnedResolver(ip), ssl=trust(settings, ca_file)
    )
    # Telegram sends no User-Agent.
    return aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent", "Accept"))


def trust(settings: WebhookSettings, ca_file: str | None) -> ssl.SSLContext:
    """What an https webhook is verified against, host name included: the certificate
    uploaded with setWebhook and nothing else (Telegram's bot API server hands it to OpenSSL
    as the CA file), else the trust store (`ca_file`, or the system's)."""
    if not settings.certificate:
        return ssl.create_default_context(cafile=ca_file)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # A broken upload is not refused up front (nor by Telegram): deliveries then fail TLS.
    with contextlib.suppress(ssl.SSLError, ValueError):
        ctx.load_verify_locations(cadata=settings.certificate.decode("ascii", "ignore"))
    return ctx


def encode_update(update: dict[str, Any]) -> bytes:
    """update_id first, compact separators, raw UTF-8: byte-for-byte Telegram's style."""
    return json.dumps(update, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


async def post_update(
    session: aiohttp.ClientSession, settings: WebhookSettings, body: bytes, timeout: float
) -> AttemptResult:
    headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}
    if settings.secret_token:
        headers[SECRET_HEADER] = settings.secret_token
    limits = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT))
    started = time.monotonic()
    try:
        async with session.post(
            settings.target, data=body, headers=headers, timeout=limits, allow_redirects=False
        ) as resp:
            raw = await resp.content.read(MAX_REPLY)
            return _classify(resp, raw, time.monotonic() - started)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # every transport failure becomes a recorded webhook error
        text = webhook_errors.error_text(exc)
        return AttemptResult(False, None, text, 0, None, time.monotonic() - started)


def _classify(resp: aiohttp.ClientResponse, raw: bytes, duration: float) -> AttemptResult:
    if 200 <= resp.status <= 299:
        return AttemptResult(True, resp.status, None, 0, _reply_call(resp, raw), duration)
    retry_after = webhook_errors.parse_retry_after(resp.headers.get("Retry-After"))
    text = webhook_errors.wrong_response(resp.status, resp.reason)
    return AttemptResult(False, resp.status, text, retry_after, None, duration)


def _reply_call(resp: aiohttp.ClientResponse, raw: bytes) -> dict[str, Any] | None:
    """A Bot API call returned as the webhook answer (`{"method": "sendMessage", ...}`)."""
    if resp.content_type != "application/json" or not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("method"), str) and body["method"]:
        return body
    return None
