"""`python app.py doctor`: can Telegram reach this appliance? Each check says pass or fail
and, when it fails, what to do. Exit 1 if any check fails.

Telegram's rules for webhooks: https only, port 443, 80, 88 or 8443, a public IPv4 address,
a certificate valid for the host: from a public CA, or self-signed and uploaded with setWebhook
(the certificate checks are in tls_checks.py). "warn" points at something to read; only "fail"
makes the exit code 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from core.certificates import days_left
from core.config import Settings
from core.telegram import TelegramError
from monitor import certificate
from monitor.certificate import Served
from monitor.commands import tls_checks, webhook
from monitor.commands.console import Console
from monitor.commands.tls_checks import TLS, Check
from monitor.commands.webhook import TELEGRAM_PORTS, client_for, selected_bots, setup_or_exit

LIVEZ = "/livez reachable through the URL"
OPS_HIDDEN = "ops paths not served through the URL"


@dataclass(frozen=True)
class Options:
    allow_private: bool = False
    any_port: bool = False
    ca_file: str | None = None
    timeout: float = 10.0
    certificate: str = ""  # the self-signed certificate uploaded (or to upload)


def register(commands: argparse._SubParsersAction, add_common) -> None:
    parser = commands.add_parser("doctor", help="check that Telegram can reach the public URL")
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="accept private addresses (local tests, a local Bot API server)",
    )
    parser.add_argument(
        "--any-port",
        action="store_true",
        help="accept any port (a local Bot API server allows them)",
    )
    parser.add_argument("--ca-file", help="trust this CA bundle instead of the system's")
    parser.add_argument(
        "--certificate",
        metavar="FILE",
        help="the uploaded self-signed certificate (default: TGWEBHOOK_TLS_CERT_FILE)",
    )
    add_common(parser, run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    settings = setup_or_exit()
    options = Options(
        args.allow_private,
        args.any_port,
        args.ca_file,
        settings.http_timeout_seconds,
        args.certificate or settings.tls_cert_file,
    )
    out, failed, report = Console(), False, {}
    for bot in selected_bots(settings, args.bot):
        checks = diagnose(settings, bot, options)
        failed = failed or any(c.status == "fail" for c in checks)
        report[bot] = [asdict(c) for c in checks]
        if not args.json:
            show(out, bot, checks)
    if args.json:
        out.json({"ok": not failed, "bots": report})
    return 1 if failed else 0


def show(out: Console, bot: str, checks: list[Check]) -> None:
    out.line(out.paint(f"{bot}", "bold"))
    for check in checks:
        out.line(f"  {out.status(check.status, 4)}  {check.name}: {check.detail}")
        if check.fix and check.status in ("fail", "warn"):
            out.line(f"        {out.paint('fix: ' + check.fix, 'yellow')}")


def diagnose(settings: Settings, bot: str, options: Options) -> list[Check]:
    public = settings.bots[bot].public_url
    checks, served = [check_public_url(public)], None
    if checks[0].status == "pass":
        served, network = network_checks(public, options, settings.cert_expiry_days)
        checks += network
    info = webhook_info(settings, bot)
    checks.append(check_secret(settings, bot))
    checks.append(check_webhook(settings, bot, info))
    known = info if isinstance(info, dict) else None
    checks.append(tls_checks.check_custom(served, known))
    checks.append(tls_checks.check_last_error(known))
    return checks


def network_checks(
    public: str, options: Options, expiry_days: int
) -> tuple[Served | None, list[Check]]:
    """https, port, DNS, TLS, expiry, /livez, /metrics hidden: each needs the ones before."""
    checks = [check_port(public, options.any_port)]
    dns = check_dns(public, options.allow_private)
    checks.append(dns)
    served, tls = check_tls(public, options) if dns.status == "pass" else (None, None)
    leaf = tls_checks.parse(served.leaf_der) if served else None
    days = days_left(leaf, dt.datetime.now(dt.UTC)) if leaf else None
    checks += [tls or skipped(TLS), expiry_check(days, expiry_days)]
    reachable = tls is not None and tls.status == "pass"
    if reachable and served and not served.verified:
        # Passed as the uploaded self-signed certificate: what Telegram then trusts.
        options = replace(options, ca_file=options.certificate)
    checks.append(check_livez(public, options) if reachable else skipped(LIVEZ))
    checks.append(check_ops_hidden(public, options) if reachable else skipped(OPS_HIDDEN))
    return served, checks


def skipped(name: str) -> Check:
    return Check(name, "skip", "not checked: an earlier check failed")


def check_public_url(public: str) -> Check:
    name = "public URL is https"
    fix = "set TGWEBHOOK_PUBLIC_URL=https://your.host (Telegram calls only https URLs)"
    if not public:
        return Check(name, "fail", "TGWEBHOOK_PUBLIC_URL is not set", fix)
    parts = urlsplit(public)
    if parts.scheme != "https" or not parts.hostname:
        return Check(name, "fail", f"{public} is not an https URL", fix)
    return Check(name, "pass", public)


def check_port(public: str, any_port: bool) -> Check:
    port = certificate.endpoint(public).port
    if port in TELEGRAM_PORTS or any_port:
        return Check("port allowed", "pass", str(port))
    return Check(
        "port allowed",
        "fail",
        f"Telegram does not call port {port}",
        "serve on 443, 80, 88 or 8443 (a reverse proxy can map it)",
    )


def check_dns(public: str, allow_private: bool) -> Check:
    name, host = "DNS resolves to a public IPv4", certificate.endpoint(public).host
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, None, socket.AF_INET)}
    except socket.gaierror as exc:
        return Check(name, "fail", f"{host}: {exc.strerror}", "add an A record for the host")
    private = sorted(a for a in found if not ipaddress.ip_address(a).is_global)
    if private and not allow_private:
        return Check(
            name,
            "fail",
            f"{host} -> {', '.join(sorted(found))} (not public)",
            "point the A record at this host's public IPv4; Telegram uses IPv4 only",
        )
    return Check(name, "pass", f"{host} -> {', '.join(sorted(found))}")


def check_tls(public: str, options: Options) -> tuple[Served | None, Check]:
    """Chain and host name, or exactly the uploaded self-signed certificate."""
    try:
        served = certificate.served(public, options.timeout, options.ca_file)
    except OSError as exc:
        return None, Check(
            TLS,
            "fail",
            f"cannot connect: {exc}",
            "open the port in the firewall and start the proxy",
        )
    upload = tls_checks.uploaded(options.certificate)
    now = dt.datetime.now(dt.UTC)
    return served, tls_checks.check_tls(served, upload, options.certificate, now)


def expiry_check(days: float | None, threshold: int) -> Check:
    name = "certificate expiry"
    if days is None:
        return skipped(name)
    if days < threshold:
        return Check(
            name,
            "fail",
            f"expires in {days:.1f} days",
            "renew the certificate (certbot renew) and reload the proxy",
        )
    return Check(name, "pass", f"{days:.0f} days left")


def unreachable(name: str, url: str, error: Exception) -> Check:
    return Check(name, "fail", f"{url}: {error}", "is the appliance running behind the proxy?")


def check_livez(public: str, options: Options) -> Check:
    name, url = LIVEZ, public.rstrip("/") + "/livez"
    status = status_of(url, options)
    if isinstance(status, Exception):
        return unreachable(name, url, status)
    if status != 200:
        return Check(
            name,
            "fail",
            f"{url} answered {status}",
            "route the public URL's paths to the appliance (TGWEBHOOK_LISTEN)",
        )
    return Check(name, "pass", f"{url} answered 200")


def check_ops_hidden(public: str, options: Options) -> Check:
    """/metrics (and /health) name bots, errors and queue sizes: never through the public URL."""
    name, url = OPS_HIDDEN, public.rstrip("/") + "/metrics"
    status = status_of(url, options)
    if isinstance(status, Exception):
        return unreachable(name, url, status)
    if status in (401, 403, 404):
        return Check(name, "pass", f"{url} answered {status}")
    return Check(
        name,
        "fail",
        f"{url} answered {status}, expected 404",
        "keep TGWEBHOOK_OPS_LISTEN off the public address and proxy only /webhook/ and /livez",
    )


def status_of(url: str, options: Options) -> int | Exception:
    """The HTTP status a GET of `url` gets, or why there was none."""
    context = certificate.tls_context(options.ca_file)
    try:
        with urllib.request.urlopen(url, timeout=options.timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return exc


def check_secret(settings: Settings, bot: str) -> Check:
    if settings.bots[bot].secret_token:
        return Check("secret token configured", "pass", "set")
    return Check(
        "secret token configured",
        "fail",
        "anyone reaching the URL can post updates",
        "run `python app.py set-webhook`; it generates one and says where it is",
    )


def webhook_info(settings: Settings, bot: str) -> dict[str, Any] | TelegramError | None:
    """getWebhookInfo (None: no bot token to ask with)."""
    if not settings.bots[bot].token:
        return None
    try:
        return client_for(settings, bot).get_webhook_info()
    except TelegramError as exc:
        return exc


def check_webhook(settings: Settings, bot: str, info: dict | TelegramError | None) -> Check:
    name, expected = "webhook set to this URL", webhook.webhook_url(settings, bot)
    if info is None:
        return Check(name, "skip", "no bot token configured, cannot ask Telegram")
    if isinstance(info, TelegramError):
        return Check(name, "fail", f"getWebhookInfo: {info}", "check the bot token")
    url = info.get("url", "")
    if expected and url == expected:
        return Check(name, "pass", url)
    return Check(
        name,
        "fail",
        f"Telegram has {url or '(none)'}, expected {expected or '?'}",
        "run `python app.py set-webhook`",
    )
