"""The notifiers' one HTTP seam: POST JSON, turn every failure into a NotifyError.

Webhook URLs often carry a secret in their path (Slack, Mattermost), so neither the URL nor
the response body goes into an error text.
"""

from __future__ import annotations

from typing import Any

import requests

from monitor.notifiers.base import NotifyError

# Client errors that a retry will not fix; 408 and 429 are worth another try.
RETRYABLE_4XX = {408, 425, 429}


def post_json(session: requests.Session, url: str, payload: Any, timeout: float) -> None:
    try:
        response = session.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise NotifyError(f"{type(exc).__name__} while posting") from None
    if 200 <= response.status_code < 300:
        return
    status = response.status_code
    permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
    raise NotifyError(f"HTTP {status}", permanent, retry_after_header(response))


def retry_after_header(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None
