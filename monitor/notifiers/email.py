"""Email channel through stdlib smtplib.

TGWEBHOOK_SMTP_URL: smtp://user:pass@host:587?starttls=true, smtp://host:25 or
smtps://user:pass@host:465. The password never appears in errors or logs.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from core.storage import AlertTransition
from monitor.notifiers.base import NotifyError, headline, render_text

TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    user: str = ""
    password: str = ""


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("expected smtp://[user:pass@]host[:port][?starttls=true] or smtps://")
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=not tls and query.get("starttls", ["false"])[0].lower() in TRUE,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def compose(transition: AlertTransition, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "[tgwebhook] " + headline(transition)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(render_text(transition))
    return message


class EmailNotifier:
    channel = "email"

    def __init__(
        self,
        target: SmtpTarget,
        sender: str,
        recipients: tuple[str, ...],
        timeout: float,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.target = target
        self.sender = sender
        self.recipients = recipients
        self.timeout = timeout
        self.context = context or ssl.create_default_context()

    def send(self, transition: AlertTransition) -> None:
        message = compose(transition, self.sender, self.recipients)
        try:
            with self._connect() as smtp:
                if self.target.user:
                    smtp.login(self.target.user, self.target.password)
                smtp.send_message(message)
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused) as exc:
            raise NotifyError(f"SMTP refused: {type(exc).__name__}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"SMTP failed: {type(exc).__name__}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        host, port, timeout = self.target.host, self.target.port, self.timeout
        if self.target.tls:
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=self.context)
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if self.target.starttls:
            try:
                smtp.starttls(context=self.context)
            except BaseException:
                smtp.close()
                raise
        return smtp
