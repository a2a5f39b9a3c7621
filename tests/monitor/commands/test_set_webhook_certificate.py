"""`set-webhook --certificate` (and the automatic upload of a self-signed TLS_CERT_FILE)
against the simulator, and the bad input refused before anything is registered."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import trustme

from core.certificates import self_signed
from tests.helpers.support import SECRET, free_port
from tests.monitor.commands.test_webhook_commands import run

NOW = dt.datetime.now(dt.UTC)


def pair(folder: Path, host: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = self_signed(host, 30, NOW)
    (folder / "cert.pem").write_bytes(made.cert_pem)
    (folder / "key.pem").write_bytes(made.key_pem)
    return folder / "cert.pem", folder / "key.pem"


def test_the_given_certificate_is_uploaded_and_info_shows_it(env, capsys, sim, token, tmp_path):
    env(public_url=f"https://127.0.0.1:{free_port()}", secret_token=SECRET)
    cert, _ = pair(tmp_path / "tls", "127.0.0.1")
    code, out = run(capsys, "set-webhook", "--any-port", "--certificate", str(cert), "--json")
    assert code == 0 and json.loads(out)["certificate_uploaded"] is True
    assert sim.admin.webhook_info(token)["has_custom_certificate"] is True
    code, out = run(capsys, "info", "--json")
    assert code == 0 and json.loads(out)[0]["has_custom_certificate"] is True
    code, out = run(capsys, "info")
    assert "custom certificate" in out and "yes" in out


def test_a_self_signed_tls_cert_file_is_uploaded_without_being_asked(
    env, capsys, sim, token, tmp_path
):
    cert, key = pair(tmp_path / "tls", "127.0.0.1")
    env(
        public_url=f"https://127.0.0.1:{free_port()}",
        secret_token=SECRET,
        tls_cert_file=cert,
        tls_key_file=key,
    )
    code, out = run(capsys, "set-webhook", "--any-port")
    assert code == 0 and "self-signed certificate uploaded" in out
    assert sim.admin.webhook_info(token)["has_custom_certificate"] is True


def test_a_ca_issued_tls_cert_file_is_not_uploaded(env, capsys, sim, token, tmp_path):
    leaf = trustme.CA().issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    env(
        public_url=f"https://127.0.0.1:{free_port()}",
        secret_token=SECRET,
        tls_cert_file=tmp_path / "cert.pem",
        tls_key_file=tmp_path / "key.pem",
    )
    code, out = run(capsys, "set-webhook", "--any-port", "--json")
    assert code == 0 and json.loads(out)["certificate_uploaded"] is False
    assert sim.admin.webhook_info(token)["has_custom_certificate"] is False


def not_pem(folder: Path) -> Path:
    folder.mkdir()
    (folder / "cert.der").write_bytes(b"\x30\x82\x01\x0a" + bytes(200))
    return folder / "cert.der"


@pytest.mark.parametrize(
    ("public_url", "certificate", "any_port", "expected"),
    [
        ("https://127.0.0.1:{port}", not_pem, True, "not a PEM certificate"),
        (
            "https://bot.example.org:8443",
            "127.0.0.1",
            False,
            "is for 127.0.0.1, not bot.example.org",
        ),
        ("https://127.0.0.1:8443", "10.0.0.9", False, "is for 10.0.0.9, not 127.0.0.1"),
        ("https://127.0.0.1:{port}", "127.0.0.1", False, "Telegram calls only 443, 80, 88 or 8443"),
    ],
    ids=["not-pem", "another-name", "another-ip", "port-outside-the-four"],
)
def test_bad_input_is_refused_before_anything_is_registered(
    env, capsys, sim, token, tmp_path, public_url, certificate, any_port, expected
):
    env(public_url=public_url.format(port=free_port()))
    if callable(certificate):
        cert = certificate(tmp_path / "bad")
    else:
        cert, _ = pair(tmp_path / "tls", certificate)
    extra = ("--any-port",) if any_port else ()
    code, out = run(capsys, "set-webhook", "--certificate", str(cert), *extra)
    assert code == 2 and expected in out
    assert sim.admin.webhook_info(token)["url"] == ""
    assert not (tmp_path / "data" / "secret_token.default").exists()  # nor a secret generated
