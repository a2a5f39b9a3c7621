"""Who may use the ops listener: a bearer token (TGWEBHOOK_OPS_TOKEN), compared in constant time.

/livez stays open: orchestrators probe it without credentials, and it tells nothing.
"""

from __future__ import annotations

import hmac

OPEN_PATHS = frozenset({"/livez"})


def needs_token(path: str) -> bool:
    return path not in OPEN_PATHS


def bearer_matches(authorization: bytes | None, token: bytes) -> bool:
    """True when an `Authorization: Bearer <token>` header carries `token` (RFC 6750)."""
    scheme, _, offered = (authorization or b"").partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(offered.strip(), token)
