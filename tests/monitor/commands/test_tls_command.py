"""`python app.py tls self-signed`: the files `serve` and `set-webhook --certificate` use."""

from __future__ import annotations

import ipaddress
import stat

from cryptography import x509
from cryptography.x509.oid import NameOID

import app
from core.certificates import check_pair, covers, is_self_signed


def make(capsys, tmp_path, *extra: str) -> tuple[int, str, str]:
    code = app.main(["tls", "self-signed", "--out", str(tmp_path / "tls"), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def san(path) -> x509.SubjectAlternativeName:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_an_ip_gets_an_ip_address_san_and_a_private_key(capsys, tmp_path):
    code, out, _ = make(capsys, tmp_path, "--host", "203.0.113.7", "--days", "30")
    cert_file, key_file = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert code == 0
    assert san(cert_file).get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("203.0.113.7")
    ]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert = check_pair(cert_file, key_file)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "203.0.113.7"
    assert is_self_signed(cert) and covers(cert, "203.0.113.7") and not covers(cert, "1.2.3.4")
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 30 <= lifetime.days <= 31
    assert f"TGWEBHOOK_TLS_CERT_FILE={cert_file}" in out
    assert f"set-webhook --certificate {cert_file}" in out


def test_a_name_gets_a_dns_san(capsys, tmp_path):
    code, _, _ = make(capsys, tmp_path, "--host", "bot.example.org")
    assert code == 0
    assert san(tmp_path / "tls" / "cert.pem").get_values_for_type(x509.DNSName) == [
        "bot.example.org"
    ]


def test_existing_files_are_kept_unless_forced(capsys, tmp_path):
    make(capsys, tmp_path, "--host", "203.0.113.7")
    before = (tmp_path / "tls" / "key.pem").read_bytes()
    code, _, err = make(capsys, tmp_path, "--host", "203.0.113.8")
    assert code == 2 and "--force" in err
    assert (tmp_path / "tls" / "key.pem").read_bytes() == before
    code, _, _ = make(capsys, tmp_path, "--host", "203.0.113.8", "--force")
    assert code == 0 and (tmp_path / "tls" / "key.pem").read_bytes() != before
    assert covers(
        x509.load_pem_x509_certificate((tmp_path / "tls/cert.pem").read_bytes()), "203.0.113.8"
    )
