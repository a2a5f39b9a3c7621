"""Telegram's last_error_message, sorted into a bounded class with one line of advice."""

from __future__ import annotations

import re

ADVICE = {
    "app_5xx": "Your webhook answered 5xx: check the appliance's /health and logs.",
    "timeout": "Telegram gave up waiting: something between Telegram and the appliance is slow.",
    "auth": (
        "Answered 401/403: the secret token Telegram sends no longer matches; re-run set-webhook."
    ),
    "not_found": "Answered 404: the webhook path or bot name is wrong; re-run set-webhook.",
    "bad_request": "Answered another 4xx: check the proxy in front of the appliance.",
    "tls": "TLS failed: check the certificate chain and host name (python app.py doctor).",
    "connection": "Telegram could not connect: firewall, port or process down.",
    "dns": "Telegram could not resolve the host: check the DNS record of the public URL.",
    "other": "Unrecognised error: read the message in `python app.py info`.",
    "none": "No delivery error reported.",
}
CLASSES = tuple(ADVICE)
STATUS = re.compile(r"Wrong response from the webhook: (\d{3})")


def classify(message: str) -> str:
    """Map a last_error_message (Telegram's wording) to one of CLASSES."""
    if not message:
        return "none"
    text = message.lower()
    match = STATUS.search(message)
    if match:
        return status_class(int(match.group(1)))
    for needle, kind in KEYWORDS:
        if needle in text:
            return kind
    return "other"


def status_class(code: int) -> str:
    if code >= 500:
        return "app_5xx"
    if code in (401, 403):
        return "auth"
    if code == 404:
        return "not_found"
    return "bad_request" if code >= 400 else "other"


KEYWORDS = (
    ("timeout", "timeout"),
    ("timed out", "timeout"),
    ("ssl", "tls"),
    ("certificate", "tls"),
    ("resolve host", "dns"),
    ("name or service not known", "dns"),
    ("connection refused", "connection"),
    ("connection reset", "connection"),
    ("connection closed", "connection"),
    ("no route to host", "connection"),
    ("network is unreachable", "connection"),
    ("failed to connect", "connection"),
)

# Telegram's TLS failures are OpenSSL's lines; each says something different to fix.
TLS_ADVICE = (
    (
        "certificate verify failed",
        "Telegram does not trust the certificate: expired, for another host or IP than the URL, "
        "or self-signed and not uploaded (python app.py set-webhook --certificate FILE); "
        "python app.py doctor says which.",
    ),
    (
        "wrong version number",
        "The port answers plain HTTP, not TLS: set TGWEBHOOK_TLS_CERT_FILE and "
        "TGWEBHOOK_TLS_KEY_FILE, or put a TLS proxy in front.",
    ),
    (
        "unrecognized name",
        "The server has no certificate for the URL's host name (SNI): fix the proxy's server name.",
    ),
    (
        "handshake failure",
        "No TLS version or cipher in common with Telegram: serve TLS 1.2 or later.",
    ),
)


def advice(message: str) -> str:
    """ADVICE for the message's class; for a TLS error, the advice for that very failure."""
    kind = classify(message)
    if kind == "tls":
        text = message.lower()
        for needle, specific in TLS_ADVICE:
            if needle in text:
                return specific
    return ADVICE[kind]
