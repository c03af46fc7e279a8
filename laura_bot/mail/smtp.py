"""Sending a composed mail over SMTP (aiosmtplib), with an answer the caller can act on.

The caller (the appointment outbox) stores a mail before sending it and retries later when
sending fails for a reason that may pass: SendFailed.permanent tells the two apart. A 5xx reply
(mailbox unknown, relaying refused, login refused) will not change by trying again; a 4xx reply,
a refused or dropped connection or a timeout may.

Privacy: a server's reply often quotes the recipient's address ("550 5.1.1 <jan@…>: unknown"),
so it is kept in SendFailed.reply for whoever needs it, and str(SendFailed) holds only the code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from .message import as_bytes

log = logging.getLogger(__name__)

SECURITY = ("none", "starttls", "tls")


@dataclass
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "none" | "starttls" (required, not opportunistic) | "tls" (from the start)
    timeout: float = 30

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}")


class SendFailed(Exception):
    """The mail did not go out. permanent: trying again will not help (a 5xx reply, or a
    server without the STARTTLS or AUTH the settings ask for); otherwise try again later.
    code is the SMTP reply code when there was one; reply the server's text (it may name the
    recipient: do not log it)."""

    def __init__(self, what: str, *, permanent: bool, code: int | None = None, reply: str = ""):
        status = f"SMTP {code}" if code is not None else "no SMTP reply"
        kind = "permanent" if permanent else "temporary"
        super().__init__(f"{what} ({status}, {kind})")
        self.permanent = permanent
        self.code = code
        self.reply = reply


async def send(
    settings: SmtpSettings, msg: EmailMessage, *, sender: str, recipients: list[str]
) -> None:
    """Sends msg to recipients (the SMTP envelope; the To header is the message's), from the
    envelope sender (where bounces go). Raises SendFailed. Send one mail per recipient:
    a mail that some recipients took and others refused is reported as failed, and sending
    it again would reach the first ones twice."""
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    try:
        refused, _ = await aiosmtplib.send(
            as_bytes(msg),
            sender=sender,
            recipients=recipients,
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=settings.password if settings.username else None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as e:
        codes = [r.code for r in e.recipients]
        raise SendFailed(
            "the server refused the recipient",
            permanent=all(500 <= c < 600 for c in codes),
            code=codes[0] if codes else None,
            reply="; ".join(r.message for r in e.recipients),
        ) from None
    except aiosmtplib.SMTPResponseException as e:
        raise SendFailed(
            _what(e), permanent=500 <= e.code < 600, code=e.code, reply=e.message
        ) from None
    except OSError as e:
        # Connection refused or dropped, timeouts, TLS errors (aiosmtplib's connection errors
        # are OSErrors too): may pass.
        raise SendFailed(
            f"no connection to the mail server ({type(e).__name__})", permanent=False
        ) from None
    except aiosmtplib.SMTPException as e:
        # What is left: STARTTLS required but not offered, a login set but no AUTH offered,
        # SMTPUTF8 needed but missing. The settings and the server disagree; no retry mends it.
        raise SendFailed(
            "the mail server lacks what the settings ask", permanent=True, reply=str(e)
        ) from None
    if refused:
        codes = [r.code for r in refused.values()]
        raise SendFailed(
            f"the server refused {len(refused)} of {len(recipients)} recipients",
            permanent=all(500 <= c < 600 for c in codes),
            code=codes[0],
            reply="; ".join(r.message for r in refused.values()),
        )
    log.debug("Mail %s handed to %s:%s", msg.get("Message-ID", "?"), settings.host, settings.port)


def _what(e: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(e, aiosmtplib.SMTPAuthenticationError):
        return "the server refused the login"
    if isinstance(e, aiosmtplib.SMTPSenderRefused):
        return "the server refused the sender"
    if isinstance(e, aiosmtplib.SMTPDataError):
        return "the server refused the message"
    return "the server refused the mail"
