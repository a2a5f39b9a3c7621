"""doctor's view of the certificate the public URL serves, as Telegram judges it: trusted
through a public CA chain, or exactly the self-signed certificate uploaded with setWebhook;
valid for the URL's host or IP; not expired; and consistent with has_custom_certificate."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from core.certificates import (
    CertificateError,
    covers,
    days_left,
    describe_names,
    is_self_signed,
    read_certificate,
)
from core.delivery_errors import advice, classify
from monitor.certificate import Served

TLS = "TLS certificate valid for the host"
CUSTOM = "uploaded certificate matches what is served"
LAST_ERROR = "last delivery error"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "pass", "warn", "fail" or "skip" (an earlier check failed)
    detail: str
    fix: str = ""


@functools.cache
def parse(der: bytes) -> x509.Certificate | None:
    return x509.load_der_x509_certificate(der) if der else None


def uploaded(path: str) -> x509.Certificate | None:
    """The certificate set-webhook uploads (--certificate, or TGWEBHOOK_TLS_CERT_FILE)."""
    if not path or not Path(path).is_file():
        return None
    try:
        return read_certificate(path)
    except CertificateError:
        return None


def check_tls(
    served: Served, upload: x509.Certificate | None, path: str, now: dt.datetime
) -> Check:
    leaf = parse(served.leaf_der)
    if leaf is None:
        return Check(
            TLS,
            "fail",
            served.reason,
            "serve TLS on this port (TGWEBHOOK_TLS_CERT_FILE/TGWEBHOOK_TLS_KEY_FILE or a proxy)",
        )
    if served.verified:
        return Check(TLS, "pass", f"chain and host name verified for {served.host}")
    if not covers(leaf, served.host):
        names = describe_names(leaf)
        detail = f"{served.reason}: the certificate is for {names}, not {served.host}"
        return Check(TLS, "fail", detail, fix_for(served.host))
    if is_self_signed(leaf) and leaf == upload:
        return check_uploaded(leaf, served.host, path, now)
    detail = served.reason
    if is_self_signed(leaf) and upload is not None:
        detail += f"; and not the certificate in {path}"
    return Check(TLS, "fail", detail, fix_for(served.host))


def check_uploaded(leaf: x509.Certificate, host: str, path: str, now: dt.datetime) -> Check:
    """The served certificate is the self-signed one set-webhook uploads: only time can fail."""
    if days_left(leaf, now) > 0:
        detail = f"self-signed, exactly {path}: Telegram trusts it once it is uploaded"
        return Check(TLS, "pass", detail)
    return Check(
        TLS,
        "fail",
        f"certificate has expired ({leaf.not_valid_after_utc:%Y-%m-%d}): the self-signed {path}",
        f"python app.py tls self-signed --host {host} --force (served from the next "
        f"handshake), then python app.py set-webhook --certificate {path}",
    )


def fix_for(host: str) -> str:
    return (
        f"install a full chain from a public CA (e.g. Let's Encrypt) for {host}, or a "
        f"self-signed one uploaded: python app.py tls self-signed --host {host}, then "
        "set-webhook --certificate FILE"
    )


def check_custom(served: Served | None, info: dict | None) -> Check:
    """Telegram's has_custom_certificate against what is served."""
    leaf = parse(served.leaf_der) if served else None
    if served is None or leaf is None or info is None:
        return Check(CUSTOM, "skip", "not checked: no certificate served or no getWebhookInfo")
    custom = bool(info.get("has_custom_certificate"))
    if custom and served.verified:
        return Check(
            CUSTOM,
            "warn",
            "a CA-issued certificate was uploaded as custom: Telegram trusts that file alone, "
            "so the next renewal breaks deliveries until it is uploaded again",
            "run python app.py set-webhook without --certificate (and a CA-issued "
            "TGWEBHOOK_TLS_CERT_FILE is not uploaded)",
        )
    if not custom and not served.verified and is_self_signed(leaf):
        return Check(
            CUSTOM,
            "fail",
            "the served certificate is self-signed and Telegram has none uploaded: every "
            "delivery fails with certificate verify failed",
            "python app.py set-webhook --certificate FILE (the served certificate)",
        )
    word = "uploaded" if custom else "none uploaded"
    return Check(CUSTOM, "pass", f"has_custom_certificate: {custom} ({word})")


def check_last_error(info: dict | None) -> Check:
    """Telegram never clears the last error: a warning to read, not a failure."""
    if info is None:
        return Check(LAST_ERROR, "skip", "no getWebhookInfo")
    message = info.get("last_error_message", "")
    if not info.get("last_error_date") or not message:
        return Check(LAST_ERROR, "pass", "none reported")
    return Check(LAST_ERROR, "warn", f"{classify(message)}: {message}", advice(message))
