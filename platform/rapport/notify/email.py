"""The email channel: one message per notification, sent through SMTP (stdlib ``smtplib`` in a
thread, so the worker's event loop keeps running other jobs).

Settings: ``RAPPORT_SMTP_HOST`` / ``_PORT`` / ``_TLS`` (none, starttls, tls) / ``_USER`` /
``_PASSWORD`` / ``_FROM``. The ``Message-ID`` is derived from the outbox id, so a message sent
again after a crash (delivery is at least once) is recognisable as the same one.

Recipients are email addresses; user ids are skipped with a warning until a user directory
with addresses exists.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from rapport.errors import ConfigurationError
from rapport.jobs.context import JobContext
from rapport.settings import Settings, SmtpTls

__all__ = ["build_message", "send"]

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 30


async def send(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    settings = ctx.settings
    if settings.smtp_host is None:
        raise ConfigurationError(
            "An email notification was requested but no SMTP server is configured.",
            hint="Set RAPPORT_SMTP_HOST (and _PORT, _TLS, _USER, _PASSWORD, _FROM).",
        )
    recipients = [str(r) for r in payload.get("recipients", ())]
    addresses = [r for r in recipients if "@" in r and not r.startswith("role:")]
    skipped = sorted(set(recipients) - set(addresses))
    if skipped:
        log.warning("email %s: no address known for %s", ctx.job.id, ", ".join(skipped))
    if not addresses:
        return
    message = build_message(
        settings,
        to=addresses,
        subject=str(payload.get("title", "")),
        body=str(payload.get("body", "")),
        link=payload.get("link"),
        message_id=f"<{ctx.job.id}@rapport>",
    )
    await asyncio.to_thread(_send, settings, message)


def build_message(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    body: str,
    link: object,
    message_id: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(f"{body}\n\n{link}" if link else body)
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    host = settings.smtp_host or "localhost"
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls is SmtpTls.TLS:
        smtp = smtplib.SMTP_SSL(
            host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if settings.smtp_tls is SmtpTls.STARTTLS:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
