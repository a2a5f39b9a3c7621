"""The public listener's TLS (TGWEBHOOK_TLS_CERT_FILE / TGWEBHOOK_TLS_KEY_FILE): checked at
start, and served by a context that picks up replaced files at the next handshake, so a renewed
certificate needs no restart."""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass

log = logging.getLogger("tgwebhook")
FILES = "TGWEBHOOK_TLS_CERT_FILE / TGWEBHOOK_TLS_KEY_FILE"


def check_tls(cert_file: str, key_file: str, problems: list[str]) -> None:
    """Both files or neither; each PEM, and the key is the certificate's."""
    if not cert_file and not key_file:
        return
    if not (cert_file and key_file):
        problems.append(f"{FILES}: set both or neither")
        return
    # cryptography takes a tenth of a second to import: only when TLS is configured.
    from core.certificates import CertificateError, check_pair

    try:
        check_pair(cert_file, key_file)
    except CertificateError as exc:
        problems.append(f"{FILES}: {exc}")


@dataclass(frozen=True)
class Stamp:
    """What tells a replaced file: inode, size and modification time of both files."""

    cert: tuple[int, int, int]
    key: tuple[int, int, int]


def stamp_of(cert_file: str, key_file: str) -> Stamp | None:
    try:
        return Stamp(stat_key(cert_file), stat_key(key_file))
    except OSError:
        return None


def stat_key(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class ServedCertificate:
    """The listener's SSLContext. Its servername callback runs on every handshake (with or
    without SNI; a client of an IP address sends none) and, when the files changed, switches
    that handshake and the ones after it to a context loaded from the new files. A pair that
    does not load (say, the certificate replaced but not yet the key) keeps the old one."""

    def __init__(self, cert_file: str, key_file: str) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self.stamp = stamp_of(cert_file, key_file)
        self.current = server_context(cert_file, key_file)
        self.listener = server_context(cert_file, key_file)
        self.listener.sni_callback = self.on_handshake

    def on_handshake(self, connection: ssl.SSLObject, server_name: str | None, _ctx) -> None:
        stamp = stamp_of(self.cert_file, self.key_file)
        if stamp is not None and stamp != self.stamp:
            self.reload(stamp)
        connection.context = self.current

    def reload(self, stamp: Stamp) -> None:
        try:
            self.current = server_context(self.cert_file, self.key_file)
        except (ssl.SSLError, OSError) as exc:
            log.warning("TLS files changed but do not load (%s); serving the previous ones", exc)
            return
        self.stamp = stamp
        log.info("TLS certificate reloaded from %s", self.cert_file)
