"""The texts Telegram puts in getWebhookInfo.last_error_message, from a status or an exception."""

from __future__ import annotations

import _ssl
import asyncio
import os
import ssl
from http import HTTPStatus

import aiohttp

READ_TIMEOUT = "Read timeout expired"
CONNECT_TIMEOUT = "Connection timed out"
CONNECTION_CLOSED = "Webhook connection closed"
RESOLVE_FAILED = "Failed to resolve host: Name or service not known"
CERT_VERIFY_FAILED = "SSL error {error:0A000086:SSL routines::certificate verify failed}"


def wrong_response(status: int, reason: str | None) -> str:
    """Text for a non-2xx answer: status code plus the reason phrase the receiver sent."""
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"Wrong response from the webhook: {status} {reason}".rstrip()


def parse_retry_after(value: str | None) -> int:
    """Seconds from a Retry-After header; Telegram reads only the integer form."""
    if not value:
        return 0
    try:
        return max(int(value.strip()), 0)
    except ValueError:
        return 0


def error_text(exc: BaseException) -> str:
    """Map a failed POST (connection, TLS, timeout) to Telegram's wording."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _resolve_text(exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return CERT_VERIFY_FAILED
    if isinstance(exc, aiohttp.ClientSSLError):
        return _ssl_text(exc.os_error)
    if isinstance(exc, ssl.SSLError):
        return _ssl_text(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return CONNECT_TIMEOUT
    if isinstance(exc, (aiohttp.SocketTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return READ_TIMEOUT
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return CONNECTION_CLOSED
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _os_text(exc.os_error)
    if isinstance(exc, OSError):
        return _os_text(exc)
    return CONNECTION_CLOSED


def _os_text(err: OSError) -> str:
    # Telegram reports socket errors by their strerror, e.g. "Connection refused".
    if err.errno:
        return os.strerror(err.errno)
    return err.strerror or CONNECTION_CLOSED


def _resolve_text(err: OSError) -> str:
    detail = err.strerror if err.strerror else "Name or service not known"
    return f"Failed to resolve host: {detail}"


def _ssl_text(err: OSError) -> str:
    """OpenSSL 3's own line, as Telegram quotes it: e.g. a plain-HTTP server on an https URL
    gives `SSL error {error:0A00010B:SSL routines::wrong version number}`."""
    reason = str(getattr(err, "reason", None) or "SSLV3_ALERT_HANDSHAKE_FAILURE")
    code = SSL_LIBRARY | SSL_REASONS.get(reason, 0)
    text = reason.lower().replace("_", " ")
    return f"SSL error {{error:{code:08X}:SSL routines::{text}}}"


# OpenSSL packs an error as library << 23 | reason; Python names the reason, so look it up.
SSL_LIBRARY = 20 << 23
SSL_REASONS = {
    name: reason
    for (library, reason), name in getattr(_ssl, "err_codes_to_names", {}).items()
    if library == 20
}
