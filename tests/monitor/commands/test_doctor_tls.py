"""doctor's certificate table against local TLS servers: an IP-only self-signed setup passes
when the served certificate is exactly the uploaded one; each way Telegram would refuse it is
a failed (or warned) check with its fix."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

import app
from core.certificates import self_signed
from core.config import Secret
from core.telegram import TelegramClient
from monitor.commands.tls_checks import CUSTOM, LAST_ERROR, TLS
from tests.helpers.monitor_kit import LivezHandler, TlsSite
from tests.helpers.support import SECRET, free_port, wait_until

NOW = dt.datetime.now(dt.UTC)
LOCAL = ("--allow-private", "--any-port")


class Files:
    """A certificate and key on disk, served by TlsSite like a trustme.LeafCert."""

    def __init__(self, folder: Path, host: str, days: int = 30, issued_days_ago: int = 0):
        folder.mkdir(parents=True)
        pair = self_signed(host, days, NOW - dt.timedelta(days=issued_days_ago))
        self.cert, self.key = folder / "cert.pem", folder / "key.pem"
        self.cert.write_bytes(pair.cert_pem)
        self.key.write_bytes(pair.key_pem)

    def configure_cert(self, context) -> None:
        context.load_cert_chain(self.cert, self.key)


class PlainSite(TlsSite):
    """The same server without TLS: what an https URL meets when nothing terminates TLS."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), LivezHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()


@pytest.fixture
def site():
    started: list[TlsSite] = []

    def start(cert) -> TlsSite:
        started.append(TlsSite(cert) if cert else PlainSite())
        return started[-1]

    yield start
    for running in started:
        running.stop()


def register(sim, token: str, url: str, certificate: bytes | None = None) -> None:
    TelegramClient(Secret(token), sim.base_url).set_webhook(
        url + "/webhook/default", secret_token=Secret(SECRET), certificate=certificate
    )


def doctor(capsys, *args: str) -> tuple[int, dict[str, dict]]:
    code = app.main(["doctor", "--json", *LOCAL, *args])
    report = json.loads(capsys.readouterr().out)
    return code, {check["name"]: check for check in report["bots"]["default"]}


def test_an_ip_only_self_signed_setup_that_was_uploaded_passes(
    env, capsys, site, sim, token, tmp_path
):
    files = Files(tmp_path / "tls", "127.0.0.1")
    url = site(files).url("127.0.0.1")
    env(public_url=url, secret_token=SECRET)
    register(sim, token, url, files.cert.read_bytes())
    code, checks = doctor(capsys, "--certificate", str(files.cert))
    assert {c["status"] for c in checks.values()} == {"pass"}, checks
    assert "self-signed, exactly" in checks[TLS]["detail"] and code == 0


def test_tls_cert_file_is_the_default_uploaded_certificate(env, capsys, site, sim, token, tmp_path):
    files = Files(tmp_path / "tls", "127.0.0.1")
    url = site(files).url("127.0.0.1")
    env(public_url=url, secret_token=SECRET, tls_cert_file=files.cert, tls_key_file=files.key)
    register(sim, token, url, files.cert.read_bytes())
    code, checks = doctor(capsys)
    assert checks[TLS]["status"] == "pass" and code == 0


@pytest.mark.parametrize(
    ("served", "given", "uploaded", "check", "status", "detail", "fix"),
    [
        ("ip", "other", True, TLS, "fail", "not the certificate in", "set-webhook --certificate"),
        (
            "other-ip",
            "same",
            True,
            TLS,
            "fail",
            "is for 10.0.0.9, not 127.0.0.1",
            "--host 127.0.0.1",
        ),
        ("expired", "same", True, TLS, "fail", "certificate has expired", "--force"),
        ("ip", "same", False, CUSTOM, "fail", "Telegram has none uploaded", "--certificate"),
        ("ca", "none", True, CUSTOM, "warn", "uploaded as custom", "without --certificate"),
        ("plain", "none", False, TLS, "fail", "wrong version number", "TGWEBHOOK_TLS_CERT_FILE"),
    ],
    ids=[
        "not-the-uploaded-one",
        "san-for-another-ip",
        "expired",
        "self-signed-not-uploaded",
        "ca-issued-uploaded-as-custom",
        "plain-http-on-https-url",
    ],
)
def test_each_misconfiguration_is_reported_with_its_fix(
    env, capsys, site, sim, token, tmp_path, served, given, uploaded, check, status, detail, fix
):
    url, files, trust = serve_kind(served, site, tmp_path)
    env(public_url=url, secret_token=SECRET)
    upload = files.cert.read_bytes() if uploaded and files else None
    register(sim, token, url, upload)
    args = list(trust)
    if given == "same":
        args += ["--certificate", str(files.cert)]
    elif given == "other":
        args += ["--certificate", str(Files(tmp_path / "other", "127.0.0.1").cert)]
    code, checks = doctor(capsys, *args)
    found = checks[check]
    assert found["status"] == status and detail in found["detail"], found
    assert fix in found["fix"]
    assert code == (1 if status == "fail" else 0)


def serve_kind(kind: str, site, tmp_path: Path) -> tuple[str, Files | None, tuple[str, ...]]:
    """(public URL, the files it serves, doctor's trust flags) for one kind of server."""
    if kind == "ca":
        authority = trustme.CA()
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        leaf = authority.issue_cert("127.0.0.1")
        files = Files(tmp_path / "leaf", "127.0.0.1")
        leaf.cert_chain_pems[0].write_to_path(str(files.cert))
        leaf.private_key_pem.write_to_path(str(files.key))
        return site(files).url("127.0.0.1"), files, ("--ca-file", str(tmp_path / "ca.pem"))
    if kind == "plain":
        return site(None).url("127.0.0.1"), None, ()
    host = "10.0.0.9" if kind == "other-ip" else "127.0.0.1"
    files = Files(tmp_path / "tls", host, days=5, issued_days_ago=10 if kind == "expired" else 0)
    return site(files).url("127.0.0.1"), files, ()


def test_an_ssl_error_in_last_error_message_is_classified_with_advice(
    env, capsys, site, sim, token, tmp_path
):
    files = Files(tmp_path / "tls", "127.0.0.1")
    url = site(files).url("127.0.0.1")
    env(public_url=url, secret_token=SECRET)
    register(sim, token, url)  # not uploaded: Telegram's deliveries fail verification
    sim.admin.inject(token, text="hi", chat_id=5)
    wait_until(lambda: sim.admin.webhook_info(token).get("last_error_message"), timeout=10)
    _, checks = doctor(capsys, "--certificate", str(files.cert))
    last = checks[LAST_ERROR]
    assert last["status"] == "warn" and last["detail"].startswith("tls: SSL error")
    assert "certificate verify failed" in last["detail"]
    assert "self-signed and not uploaded" in last["fix"]
