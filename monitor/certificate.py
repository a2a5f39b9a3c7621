"""Inspect the TLS certificate a public URL serves: valid for the host? expires when?"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.storage import CertificateCheck


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return Endpoint(parts.hostname or "", parts.port or default)


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system trust store (or `ca_file`), hostname checked: what Telegram would accept."""
    return ssl.create_default_context(cafile=ca_file)


def inspect(
    bot: str, url: str, now: float, timeout: float = 10.0, ca_file: str | None = None
) -> CertificateCheck:
    """Handshake with the host of `url`; failing to connect at all raises OSError."""
    target = endpoint(url)
    context = tls_context(ca_file)
    with socket.create_connection((target.host, target.port), timeout=timeout) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=target.host) as tls:
                cert = tls.getpeercert() or {}
        except ssl.SSLCertVerificationError as exc:
            return CertificateCheck(bot, target.host, now, None, verify_reason(exc))
        except ssl.SSLError as exc:  # no TLS at all, or a handshake Telegram would fail too
            return CertificateCheck(bot, target.host, now, None, f"TLS handshake failed: {exc}")
    not_after = cert.get("notAfter")
    expires = ssl.cert_time_to_seconds(not_after) if isinstance(not_after, str) else None
    return CertificateCheck(bot, target.host, now, float(expires) if expires else None)


def verify_reason(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's reason, e.g. 'certificate has expired' or a host name mismatch."""
    return str(exc.verify_message or exc.reason or exc)


@dataclass(frozen=True)
class Served:
    """What doctor's handshakes with the public URL showed: the leaf certificate (DER; empty
    when there was no TLS at all) and whether it verified against the trust store with the
    host name (`reason` when not)."""

    host: str
    leaf_der: bytes
    verified: bool
    reason: str = ""


def served(url: str, timeout: float = 10.0, ca_file: str | None = None) -> Served:
    """Two handshakes: one verified as Telegram's default is, one that only reads the leaf
    (a self-signed certificate Telegram trusts once uploaded). Raises OSError when nothing
    answers."""
    target = endpoint(url)
    verified, reason = True, ""
    try:
        handshake(target, timeout, tls_context(ca_file))
    except ssl.SSLCertVerificationError as exc:
        verified, reason = False, verify_reason(exc)
    except ssl.SSLError as exc:  # no TLS there (plain HTTP), or no version in common
        return Served(target.host, b"", False, f"TLS handshake failed: {exc}")
    reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reader.check_hostname, reader.verify_mode = False, ssl.CERT_NONE
    return Served(target.host, handshake(target, timeout, reader), verified, reason)


def handshake(target: Endpoint, timeout: float, context: ssl.SSLContext) -> bytes:
    with (
        socket.create_connection((target.host, target.port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=target.host) as tls,
    ):
        return tls.getpeercert(binary_form=True) or b""
