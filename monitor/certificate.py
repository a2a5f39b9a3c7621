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
