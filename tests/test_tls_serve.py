"""`serve` terminating TLS on the public listener (TGWEBHOOK_TLS_CERT_FILE / _KEY_FILE):
https there, plain HTTP on the ops listener, a replaced certificate served at the next
handshake without a restart, and clear errors at start for files that cannot serve."""

from __future__ import annotations

import datetime as dt
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.certificates import self_signed
from core.config import ConfigError
from tests.helpers.support import ROOT, SECRET, make_update, ops_url, wait_until
from tests.test_serve import HEADERS, stored_rows

NOW = dt.datetime.now(dt.UTC)


def write_pair(folder: Path, host: str = "127.0.0.1", days: int = 30) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pair = self_signed(host, days, NOW)
    (folder / "cert.pem").write_bytes(pair.cert_pem)
    (folder / "key.pem").write_bytes(pair.key_pem)
    return folder / "cert.pem", folder / "key.pem"


def served_certificate(port: int) -> x509.Certificate:
    """The certificate a fresh handshake with 127.0.0.1:port gets (no SNI, as for an IP)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def tls_env(cert: Path, key: Path) -> dict[str, str]:
    return {"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key)}


def test_public_listener_speaks_https_and_ops_listener_stays_plain(serve, tmp_path):
    cert, key = write_pair(tmp_path / "tls")
    served = serve(env=tls_env(cert, key), public_host="0.0.0.0", workers=1)
    https = served.base_url.replace("http://", "https://")
    update = make_update(7)
    with requests.Session() as session:  # closed: the server's shutdown waits for none
        resp = session.post(f"{https}/webhook/default", json=update, headers=HEADERS, verify=cert)
    assert resp.status_code == 200 and stored_rows(served.db) == 1
    assert requests.get(f"{ops_url(served)}/readyz", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{served.base_url}/livez", timeout=5)  # plain HTTP to the TLS port


def test_replaced_certificate_is_served_at_the_next_handshake(serve, tmp_path):
    cert, key = write_pair(tmp_path / "tls")
    served = serve(env=tls_env(cert, key), public_host="0.0.0.0", workers=1)
    port = int(served.base_url.rpartition(":")[2])
    first = served_certificate(port)
    renewed_cert, renewed_key = write_pair(tmp_path / "renewed", days=90)
    renewed_key.replace(key)  # key first: a half-replaced pair keeps the old one served
    renewed_cert.replace(cert)
    second = served_certificate(port)
    assert second.serial_number != first.serial_number
    assert second == x509.load_pem_x509_certificate(cert.read_bytes())
    with requests.Session() as session:
        resp = session.get(served.base_url.replace("http:", "https:") + "/livez", verify=cert)
    assert resp.status_code == 200


def test_sighup_to_serve_reloads_the_web_workers_and_keeps_serving(serve, tmp_path):
    cert, key = write_pair(tmp_path / "tls")
    served = serve(env=tls_env(cert, key), public_host="0.0.0.0", workers=1)
    https = served.base_url.replace("http://", "https://")
    served.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloading the web workers" in served.output(), timeout=10)
    with requests.Session() as session:
        answer = wait_until(
            lambda: session.post(
                f"{https}/webhook/default", json=make_update(8), headers=HEADERS, verify=cert
            ),
            timeout=15,
        )
    assert answer.status_code == 200 and served.process.poll() is None


def start_error(tmp_path: Path, cert: Path, key: Path) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "TGWEBHOOK_DB": str(tmp_path / "t.db"),
        "TGWEBHOOK_SECRET_TOKEN": SECRET,
        "TGWEBHOOK_TLS_CERT_FILE": str(cert),
        "TGWEBHOOK_TLS_KEY_FILE": str(key),
    }
    done = subprocess.run(
        [sys.executable, "app.py", "serve"], cwd=ROOT, env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 2
    return done.stderr.decode()


def test_serve_refuses_a_certificate_file_that_is_not_pem(tmp_path):
    cert, key = write_pair(tmp_path / "tls")
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(Encoding.DER)
    cert.write_bytes(der)
    error = start_error(tmp_path, cert, key)
    assert "TGWEBHOOK_TLS_CERT_FILE" in error and "not a PEM certificate" in error


def test_serve_refuses_a_key_that_does_not_match_the_certificate(tmp_path):
    cert, _ = write_pair(tmp_path / "one")
    _, other_key = write_pair(tmp_path / "two")
    error = start_error(tmp_path, cert, other_key)
    assert "does not match" in error and str(cert) in error
    assert "BEGIN" not in error  # no key material in the message


def test_a_certificate_without_its_key_is_refused(make_settings, tmp_path):
    cert, _ = write_pair(tmp_path / "tls")
    with pytest.raises(ConfigError, match="set both or neither"):
        make_settings(tls_cert_file=cert)
