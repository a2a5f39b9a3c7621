"""`python app.py doctor` against a local HTTPS server with trustme certificates."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import trustme

import app
from core.config import Secret
from core.telegram import TelegramClient
from tests.helpers.monitor_kit import TlsSite
from tests.helpers.support import SECRET

NOW = dt.datetime.now(dt.UTC)
LOCAL = ("--allow-private", "--any-port")


class SelfSigned:
    """The CA's own certificate served as the site's: self-signed, trusted by no one."""

    def __init__(self, authority: trustme.CA) -> None:
        self.authority = authority

    def configure_cert(self, context) -> None:
        with (
            self.authority.cert_pem.tempfile() as cert,
            self.authority.private_key_pem.tempfile() as key,
        ):
            context.load_cert_chain(cert, key)


@pytest.fixture
def ca(tmp_path) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, str(path)


@pytest.fixture
def site():
    started = []

    def start(cert: trustme.LeafCert) -> TlsSite:
        started.append(TlsSite(cert))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def doctor(capsys, *args: str) -> tuple[int, dict[str, dict]]:
    code = app.main(["doctor", "--json", *args])
    report = json.loads(capsys.readouterr().out)
    return code, {check["name"]: check for check in report["bots"]["default"]}


def statuses(checks: dict[str, dict]) -> dict[str, str]:
    return {name: check["status"] for name, check in checks.items()}


def test_a_healthy_setup_passes_every_check(env, capsys, ca, site, sim, token):
    authority, ca_file = ca
    served = site(authority.issue_cert("localhost"))
    env(public_url=served.url(), secret_token=SECRET)
    TelegramClient(Secret(token), sim.base_url).set_webhook(
        served.url() + "/webhook/default", secret_token=Secret(SECRET)
    )
    code, checks = doctor(capsys, *LOCAL, "--ca-file", ca_file)
    assert set(statuses(checks).values()) == {"pass"}, checks
    assert code == 0


@pytest.mark.parametrize(
    "issue, trusted, reason",
    [
        (
            lambda ca: ca.issue_cert("localhost", not_after=NOW - dt.timedelta(days=1)),
            True,
            "certificate has expired",
        ),
        (lambda ca: ca.issue_cert("other.example.com"), True, "Hostname mismatch"),
        (lambda ca: ca.issue_cert("localhost"), False, "unable to get local issuer certificate"),
        (SelfSigned, False, "self-signed certificate"),
    ],
)
def test_a_certificate_telegram_would_refuse_fails_with_the_reason(
    env, capsys, ca, site, issue, trusted, reason
):
    authority, ca_file = ca
    served = site(issue(authority))
    env(public_url=served.url(), secret_token=SECRET)
    trust = ("--ca-file", ca_file) if trusted else ()
    code, checks = doctor(capsys, *LOCAL, *trust)
    tls = checks["TLS certificate valid for the host"]
    assert code == 1 and tls["status"] == "fail" and reason in tls["detail"]
    assert "Let's Encrypt" in tls["fix"]
    assert checks["/livez reachable through the URL"]["status"] == "skip"


def test_a_certificate_expiring_soon_fails_the_expiry_check_only(env, capsys, ca, site):
    authority, ca_file = ca
    served = site(authority.issue_cert("localhost", not_after=NOW + dt.timedelta(days=5)))
    env(public_url=served.url(), secret_token=SECRET, cert_expiry_days=14)
    code, checks = doctor(capsys, *LOCAL, "--ca-file", ca_file)
    assert checks["TLS certificate valid for the host"]["status"] == "pass"
    assert checks["certificate expiry"]["status"] == "fail"
    assert "days" in checks["certificate expiry"]["detail"]
    assert code == 1


@pytest.mark.parametrize(
    "public_url, flags, failing",
    [
        ("http://bot.example.com", LOCAL, "public URL is https"),
        ("https://localhost:9443", ("--allow-private",), "port allowed"),
        ("https://localhost:443", ("--any-port",), "DNS resolves to a public IPv4"),
        ("https://no-such-host.invalid", LOCAL, "DNS resolves to a public IPv4"),
    ],
)
def test_what_telegram_cannot_call_is_reported_with_a_fix(env, capsys, public_url, flags, failing):
    env(public_url=public_url, secret_token=SECRET)
    code, checks = doctor(capsys, *flags)
    assert code == 1 and checks[failing]["status"] == "fail" and checks[failing]["fix"]


def test_a_missing_secret_is_a_failed_check_not_a_crash(env, capsys, ca, site):
    authority, ca_file = ca
    served = site(authority.issue_cert("localhost"))
    env(public_url=served.url())
    code, checks = doctor(capsys, *LOCAL, "--ca-file", ca_file)
    assert checks["secret token configured"]["status"] == "fail"
    assert checks["/livez reachable through the URL"]["status"] == "pass"
    assert code == 1


def test_human_output_lists_each_check_with_its_fix(env, capsys):
    env(public_url="http://bot.example.com", secret_token=SECRET)
    assert app.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  public URL is https" in out and "fix: set TGWEBHOOK_PUBLIC_URL" in out
