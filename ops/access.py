"""Who may use the ops listener, and with which role.

Credentials: the bearer token (TGWEBHOOK_OPS_TOKEN, the operator role) and HTTP basic-auth
users from TGWEBHOOK_OPS_USERS_FILE (lines `name:role:hash`, role `viewer` or `operator`, hash
`scrypt:N:r:p:salt_hex:key_hex` or `sha256:hex`). Every comparison is constant-time.

Fails closed: with no credentials configured, only a loopback listener is open (operator role,
as /metrics always was); anywhere else nothing but /livez is served. /livez stays open:
orchestrators probe it without credentials, and it tells nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from core.listeners import is_loopback, ops_address
from core.settings_table import Settings

OPEN_PATHS = frozenset({"/livez"})
VIEWER, OPERATOR = "viewer", "operator"
ROLES = (VIEWER, OPERATOR)
SCRYPT_MAXMEM = 128 * 1024 * 1024
VERIFIED: set[bytes] = set()
VERIFIED_MAX = 1024


class UsersFileError(ValueError):
    """The users file cannot be used; the message names the line, never a hash."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user name (or `token` / `local`) and a role."""

    name: str
    role: str

    @property
    def may_act(self) -> bool:
        return self.role == OPERATOR


@dataclass(frozen=True)
class User:
    name: str
    role: str
    digest: str = field(repr=False)


@dataclass(frozen=True)
class Access:
    """The ops listener's credentials; `principal(authorization)` decides each request."""

    token: bytes = field(default=b"", repr=False)
    users: tuple[User, ...] = ()
    loopback: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.token or self.users)

    @property
    def scheme(self) -> str:
        """What a 401 asks for: basic when users exist (a browser then prompts)."""
        return "Basic" if self.users else "Bearer"

    def principal(self, authorization: bytes | None) -> Principal | None:
        if not self.configured:
            return Principal("local", OPERATOR) if self.loopback else None
        if self.token and bearer_matches(authorization, self.token):
            return Principal("token", OPERATOR)
        return basic_user(authorization, self.users)


def needs_token(path: str) -> bool:
    return path not in OPEN_PATHS


def bearer_matches(authorization: bytes | None, token: bytes) -> bool:
    """True when an `Authorization: Bearer <token>` header carries `token` (RFC 6750)."""
    scheme, _, offered = (authorization or b"").partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(offered.strip(), token)


def basic_user(authorization: bytes | None, users: tuple[User, ...]) -> Principal | None:
    """The user an `Authorization: Basic` header names, when its password matches (RFC 7617)."""
    scheme, _, encoded = (authorization or b"").partition(b" ")
    if scheme.lower() != b"basic" or not users:
        return None
    try:
        name, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    found = None
    for user in users:  # every user is compared, so timing does not tell which names exist
        if hmac.compare_digest(user.name.encode(), name) and sep:
            found = user
    check = found or users[0]
    matched = password_matches(password, check.digest)
    return Principal(found.name, found.role) if found and matched else None


def password_matches(password: bytes, digest: str) -> bool:
    # scrypt costs tens of ms by design; a browser sends basic auth with every request, so a
    # pair verified once is remembered (as a hash) for this process.
    remembered = hashlib.sha256(digest.encode() + b"\0" + password).digest()
    if remembered in VERIFIED:
        return True
    if not verify(password, digest):
        return False
    if len(VERIFIED) >= VERIFIED_MAX:
        VERIFIED.clear()
    VERIFIED.add(remembered)
    return True


def verify(password: bytes, digest: str) -> bool:
    kind, _, rest = digest.partition(":")
    if kind == "sha256":
        return hmac.compare_digest(hashlib.sha256(password).hexdigest(), rest.lower())
    n, r, p, salt, key = rest.split(":")
    derived = hashlib.scrypt(
        password,
        salt=bytes.fromhex(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=SCRYPT_MAXMEM,
        dklen=len(key) // 2,
    )
    return hmac.compare_digest(derived.hex(), key.lower())


def hash_password(password: str, salt: bytes, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """A users-file hash for `password` (scrypt, as recommended by OWASP for passwords)."""
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM)
    return f"scrypt:{n}:{r}:{p}:{salt.hex()}:{key.hex()}"


def load_users(path: str) -> tuple[User, ...]:
    """Parse a users file; blank lines and `#` comments are skipped. UsersFileError."""
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsersFileError(f"TGWEBHOOK_OPS_USERS_FILE {path}: {exc.strerror}") from None
    users = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            users.append(parse_user(line, f"TGWEBHOOK_OPS_USERS_FILE {path} line {number}"))
    return tuple(users)


def parse_user(line: str, where: str) -> User:
    name, _, rest = line.partition(":")
    role, _, digest = rest.partition(":")
    if not name or role not in ROLES:
        raise UsersFileError(f"{where}: expected name:viewer|operator:hash")
    kind, _, value = digest.partition(":")
    fields = value.split(":")
    valid = (kind == "sha256" and len(value) == 64) or (
        kind == "scrypt" and len(fields) == 5 and all(f.isdigit() for f in fields[:3])
    )
    if not valid or not all(is_hex(part) for part in fields[-2:]):
        raise UsersFileError(f"{where}: the hash must be sha256:<hex> or scrypt:N:r:p:salt:key")
    return User(name, role, digest)


def is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return bool(text)


def access_for(settings: Settings) -> Access:
    """The ops listener's Access from the settings (UsersFileError for a bad users file)."""
    return Access(
        token=settings.ops_token.reveal().encode(),
        users=load_users(settings.ops_users_file),
        loopback=is_loopback(ops_address(settings)),
    )
