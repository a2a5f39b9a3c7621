"""TLS certificates as Telegram judges them: read and check PEM files, match a host against the
SAN, tell self-signed from CA-issued, and make a self-signed pair for a bare server.

Telegram accepts a self-signed certificate only when it is uploaded with setWebhook, and it
checks the host (or IP) of the webhook URL against the certificate's subjectAltName.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

# Telegram's own example (core.telegram.org/bots/self-signed) uses a 2048-bit RSA key.
KEY_BITS = 2048


class CertificateError(Exception):
    """A certificate or key file that cannot serve: the text says which file and why."""


@dataclass(frozen=True)
class KeyPair:
    key_pem: bytes
    cert_pem: bytes


def read_certificate(path: str | Path) -> x509.Certificate:
    """The first certificate of a PEM file (the leaf of a chain); CertificateError if none."""
    data = read_file(path, "certificate")
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError:
        raise CertificateError(
            f"{path}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----; "
            "convert a DER file with `openssl x509 -inform der -in FILE -out FILE.pem`)"
        ) from None


def read_key(path: str | Path) -> PrivateKeyTypes:
    data = read_file(path, "private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"{path}: not an unencrypted PEM private key ({type(exc).__name__})"
        ) from None


def read_file(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CertificateError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def check_pair(cert_file: str | Path, key_file: str | Path) -> x509.Certificate:
    """Both files readable PEM and the key is the certificate's; raises CertificateError."""
    cert = read_certificate(cert_file)
    key = read_key(key_file)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != cert.public_key().public_bytes(
        encoding, public
    ):
        raise CertificateError(f"{key_file}: this private key does not match {cert_file}")
    return cert


def names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) of the subjectAltName; empty lists without one."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return san.get_values_for_type(x509.DNSName), ips


def covers(cert: x509.Certificate, host: str) -> bool:
    """Is `host` (a name or an IP) in the SAN, as a TLS client checks it (one-label wildcards)?"""
    dns, ips = names(cert)
    try:
        return str(ipaddress.ip_address(host.strip("[]"))) in ips
    except ValueError:
        pass
    host = host.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in dns):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def describe_names(cert: x509.Certificate) -> str:
    dns, ips = names(cert)
    return ", ".join([*dns, *ips]) or "no subjectAltName"


def is_self_signed(cert: x509.Certificate) -> bool:
    """Issuer is the subject and the certificate's own key signed it."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def days_left(cert: x509.Certificate, now: dt.datetime) -> float:
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def self_signed(host: str, days: int, now: dt.datetime) -> KeyPair:
    """A key and a certificate for `host`: CN is the host (as Telegram's guide writes it) and
    the SAN holds it as an IP address or a DNS name, which is what clients check."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([san_entry(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return KeyPair(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def san_entry(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)
