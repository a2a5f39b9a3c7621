"""The webhook status policy: every outcome of a webhook request and the status it answers.

This table is the only place that decides status codes; DESIGN.md and README show it and
tests/receiver/test_policy_table.py checks every row. The outcome names counted in
`tgwebhook_requests_total` are declared once, in core/metrics.py (REQUEST_OUTCOMES); the two
answered before a bot is known to be addressed properly are not counted.
"""

from __future__ import annotations

STATUS = {
    "unknown_bot": 404,
    "method_not_allowed": 405,  # anything but POST
    "unauthorized": 401,  # secret header missing or wrong
    "forbidden": 403,  # source IP outside the allowlist (only when it is on)
    "unsupported_media_type": 415,
    "too_large": 413,
    "bad_request": 400,  # not JSON, not an object, no usable update_id
    "accepted": 200,  # new and persisted
    "duplicate": 200,  # already stored: acknowledged, not forwarded again
    # Telegram adds update types and fields; a non-2xx would make it retry until expiry.
    "unknown_type": 200,
    "schema_deviation": 200,
    "store_failed": 503,  # nothing acknowledged that was not saved
}


def status_for(outcome: str) -> int:
    return STATUS[outcome]
