"""Telegram's last_error_message, sorted into a bounded class with one line of advice."""

from __future__ import annotations

import re

ADVICE = {
    "app_5xx": "Your webhook answered 5xx: check the appliance's /health and logs.",
    "timeout": "Telegram gave up waiting: something between Telegram and the appliance is slow.",
    "auth": "Answered 401/403: the secret token Telegram sends no longer matches; re-run set-webhook.",
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
