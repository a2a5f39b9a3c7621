"""setWebhook parameters: parsing and validation in Telegram's order, with Telegram's texts."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from simulator.envelope import ApiError, bad_request, bad_webhook
from simulator.params import Params

ALLOWED_PORTS = (443, 80, 88, 8443)
DEFAULT_MAX_CONNECTIONS = 40
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
RESOLVE_TIMEOUT = 3.0


@dataclass(frozen=True)
class WebhookSettings:
    """A webhook as Telegram stores it; `target` is the URL deliveries go to."""

    url: str
    target: str
    scheme: str
    host: str
    port: int
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    secret_token: str = ""
    ip_address: str = ""
    certificate: bytes | None = None

    def same_as(self, other: WebhookSettings | None) -> bool:
        """Telegram answers "Webhook is already set" only when nothing changes."""
        if other is None or self.certificate or other.certificate:
            return False
        return (self.url, self.max_connections, self.secret_token, self.ip_address) == (
            other.url,
            other.max_connections,
            other.secret_token,
            other.ip_address,
        )


def parse(params: Params, local: bool) -> WebhookSettings:
    """Build settings from a setWebhook call; raises the errors Telegram checks first."""
    url = params.text("url")
    scheme, host, port, target = parse_url(url)
    secret = params.text("secret_token")
    if len(secret) > 256:
        raise bad_request("secret token is too long")
    if not SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    limit = 100_000 if local else 100
    # Telegram clamps max_connections into range rather than rejecting it.
    max_connections = min(max(params.integer("max_connections", DEFAULT_MAX_CONNECTIONS), 1), limit)
    return WebhookSettings(
        url=url,
        target=target,
        scheme=scheme,
        host=host,
        port=port,
        max_connections=max_connections,
        secret_token=secret,
        ip_address=params.text("ip_address"),
        certificate=params.files.get("certificate"),
    )


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, target URL); a URL without a scheme means https, as in Telegram."""
    target = url if "://" in url else f"https://{url}"
    invalid = bad_request("invalid webhook URL specified")
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError as exc:
        raise invalid from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise invalid
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), target


def transport_error(settings: WebhookSettings, local: bool) -> str | None:
    """Scheme and port rules, waived for a local Bot API server (--local)."""
    if local:
        return None
    if settings.scheme != "https":
        return "An HTTPS URL must be provided for webhook"
    if settings.port not in ALLOWED_PORTS:
        return "Webhook can be set up only on ports 80, 88, 443 or 8443"
    return None


def ip_error(ip: str, local: bool) -> str | None:
    """Telegram refuses to deliver to non-public addresses unless it runs in local mode."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "Invalid IP address specified"
    if local:
        return None
    if addr.version != 4:
        return "IPv6-only addresses are not allowed"
    if not addr.is_global:
        return f"IP address {ip} is reserved"
    return None


async def resolve(settings: WebhookSettings, local: bool) -> str:
    """The IP the webhook will use: the fixed ip_address, else the host's address."""
    ip = settings.ip_address or await _lookup(settings.host, settings.port, local)
    problem = ip_error(ip, local)
    if problem:
        raise bad_webhook(problem)
    return ip


async def _lookup(host: str, port: int, local: bool) -> str:
    failed = bad_webhook("Failed to resolve host: Name or service not known")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if host.endswith(".invalid"):
        raise failed  # RFC 6761: never resolves; skip the DNS round trip
    family = socket.AF_UNSPEC if local else socket.AF_INET
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        raise failed from exc
    if not infos:
        raise failed
    return str(infos[0][4][0])


def check(settings: WebhookSettings, local: bool) -> ApiError | None:
    problem = transport_error(settings, local)
    return bad_webhook(problem) if problem else None
