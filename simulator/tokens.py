"""Bot token format: `<bot id>:<35 chars of A-Za-z0-9_->`, as BotFather issues them."""

from __future__ import annotations

import hashlib
import re

TOKEN_RE = re.compile(r"^([1-9][0-9]{0,15}):([A-Za-z0-9_-]{35})$")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def bot_id(token: str) -> int | None:
    """The bot id a well-formed token names, None for a malformed one."""
    match = TOKEN_RE.match(token)
    return int(match.group(1)) if match else None


def make_token(n: int = 1) -> str:
    """A deterministic, valid-format fake token for bot number `n` (id 7000000000 + n)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    digest = hashlib.sha512(f"tgwebhook-sim-{n}".encode()).digest()
    # Real tokens' secret part starts with "AA"; keep that look.
    secret = "AA" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:33])
    return f"{7_000_000_000 + n}:{secret}"
