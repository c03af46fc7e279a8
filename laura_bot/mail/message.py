"""The appointment e-mails: an invitation, a move, a change, a cancellation and a reminder,
to the client, and the adviser's copy of each.

MIME structure (the one Google Calendar sends, which nodemailer copies for "maximum
compatibility", and which Outlook, Gmail and Apple Mail all show as an invitation):

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8            the message, for readers without HTML
        text/html; charset=utf-8             the same message
        text/calendar; method=REQUEST|CANCEL; charset=UTF-8   (no file name)
      application/ics; name=invite.ics|cancel.ics   (Content-Disposition: attachment)

Outlook and Exchange turn the text/calendar alternative with its method parameter into a
meeting request or cancellation with their own buttons; Gmail does the same and also reads it
there. Apple Mail and some webmail read only an attached .ics, hence the second copy as
application/ics: declared as a plain file, so no client handles the invitation twice. The
calendar parts are base64 (as Exchange sends them): the CRLFs and the folding of iCalendar
survive any mail server. The method parameter always equals the body's METHOD; a mismatch
makes Outlook show the mail as a plain attachment.

A reminder carries no calendar part: it changes nothing, and a REQUEST sent again would bring
the invitation back in Gmail and Outlook as if new, and could put back an event the client
removed from their own calendar.

Privacy: the subject says only who and when. Mail servers log subjects, so the appointment's
title, remarks and location stay in the body. Everything people typed is escaped in the HTML
(autoescape) and cleaned of line breaks before it goes into a header.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ..resources import resource
from .addresses import check_address
from .ical import (
    CalendarEvent,
    Person,
    calendar,
    check_url,
    clean_text,
    one_line,
    param_text,
)

log = logging.getLogger(__name__)

KINDS = ("booked", "moved", "changed", "cancelled", "reminder")
DEFAULT_LANGUAGE = "nl"
TEMPLATES = resource("mail", "templates")
# What a template may use from `details`; missing ones are None, so a template can test them.
DETAILS = (
    "title",  # what the appointment is about (body only, never the subject)
    "location",
    "remarks",  # for the client, from the adviser
    "when",  # date and time in the organisation's zone, formatted by the caller
    "previous_when",  # for "moved": the old date and time
    "duration",  # e.g. "45 minuten"
    "adviser",  # the adviser's name
    "client",  # the client's name: the greeting in the adviser's copy
    "link",  # the client's personal page (http/https), or None
    "video",  # "yes" for a video appointment
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")  # a host name for Message-ID


def _lines_to_html(value: Any) -> Markup:
    """Text with line breaks as escaped HTML with <br>: remarks keep their lines."""
    return Markup("<br>\n").join(escape(line) for line in str(value).splitlines())


@dataclass(frozen=True)
class MailTemplates:
    """The mail texts: templates/<lang>/subject.txt, body.txt and body.html, for the kinds
    above. An operator's folder (override) is searched first, so an organisation can reword a
    mail by copying one file; Laura's own texts fill in the rest.

    Rendering happens in Jinja2's sandbox with StrictUndefined (a misspelt variable fails in
    testing instead of leaving a gap): the text environment without escaping, the HTML one
    escaping every value. The two are separate, so an HTML template can never be rendered
    without autoescape."""

    override: Path | None = None

    @property
    def _folders(self) -> list[str]:
        return [str(p) for p in (self.override, TEMPLATES) if p is not None]

    @property
    def text(self) -> SandboxedEnvironment:
        return _environment(tuple(self._folders), html=False)

    @property
    def html(self) -> SandboxedEnvironment:
        return _environment(tuple(self._folders), html=True)

    def language(self, lang: str | None) -> str:
        """lang if there are texts for it ("en-GB" counts as "en"), else Dutch."""
        code = (lang or "").split("-")[0].split("_")[0].lower()
        if code.isalpha() and any(
            (Path(f) / code / "subject.txt").is_file() for f in self._folders
        ):
            return code
        return DEFAULT_LANGUAGE


@cache
def _environment(folders: tuple[str, ...], *, html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(list(folders)),
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["lines"] = _lines_to_html if html else (lambda value: str(value))
    return env


DEFAULT_TEMPLATES = MailTemplates()


def compose(
    *,
    kind: str,
    lang: str,
    event: CalendarEvent,
    method: str,
    sender: Person,
    to: Person,
    organisation: str,
    details: Mapping[str, str | None],
    message_id_domain: str,
    reply_to: str | None = None,
    copy: bool = False,
    now: dt.datetime | None = None,
    templates: MailTemplates = DEFAULT_TEMPLATES,
) -> EmailMessage:
    """One appointment mail, ready for smtp.send.

    kind is one of KINDS; copy=True makes it the adviser's copy (to is the adviser; the same
    calendar part, so the adviser's calendar follows too when they are an attendee). method is
    "CANCEL" for kind "cancelled", "REQUEST" for the others, and must equal event.method; a
    reminder ignores it (no calendar part). Raises ValueError for a kind, method or domain
    that does not fit, and BadAddress for an address that cannot be used. now sets the Date
    header (default: the current time); templates, an operator's texts."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    with_calendar = kind != "reminder"
    if with_calendar:
        expected = "CANCEL" if kind == "cancelled" else "REQUEST"
        if method != expected or event.method != method:
            raise ValueError(f"a {kind} mail needs method {expected} (event and argument)")
    if not _DOMAIN.fullmatch(message_id_domain):
        raise ValueError("message_id_domain must be a host name")
    if not details.get("when"):
        raise ValueError("details must say when the appointment is")

    lang = templates.language(lang)
    context = _context(kind, copy, to, organisation, details, reply_to is not None)
    context["lang"] = lang
    subject = one_line(templates.text.get_template(f"{lang}/subject.txt").render(context))
    text = templates.text.get_template(f"{lang}/body.txt").render(context)
    html = templates.html.get_template(f"{lang}/body.html").render(context)

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject[:200]
    msg["From"] = _header_address(sender)
    msg["To"] = _header_address(to)
    if reply_to is not None:
        msg["Reply-To"] = Address(addr_spec=check_address(reply_to))
    msg["Date"] = format_datetime((now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    msg["Message-ID"] = make_msgid(domain=message_id_domain)
    # RFC 3834: a machine wrote this; vacation responders should not answer it. The Microsoft
    # header does the same for Exchange (out-of-office and auto-replies only, not bounces).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"

    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if with_calendar:
        ics = calendar([event], method)
        msg.attach(_calendar_part(ics, method))
        filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
        msg.add_attachment(
            ics,
            maintype="application",
            subtype="ics",
            filename=filename,
            params={"name": filename},
        )
    # After the parts: set_content and the multipart conversions move Content-* headers.
    msg["Content-Language"] = lang
    return msg


def _calendar_part(ics: bytes, method: str) -> EmailMessage:
    """The text/calendar alternative, built from its source text so that its header reads as
    Exchange and Google write it: `method=REQUEST` unquoted. (The email package quotes every
    parameter it sets; that is valid MIME too, but the unquoted form is the one every calendar
    program is known to take.)"""
    head = (
        f"Content-Type: text/calendar; method={method}; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    body = base64.encodebytes(ics).replace(b"\n", b"\r\n")
    part = BytesParser(policy=email.policy.SMTP).parsebytes(head.encode("ascii") + body)
    assert isinstance(part, EmailMessage)
    return part


def as_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP: CRLF line ends, lines of at most 78 characters."""
    return msg.as_bytes(policy=email.policy.SMTP)


def _context(
    kind: str,
    copy: bool,
    to: Person,
    organisation: str,
    details: Mapping[str, str | None],
    can_reply: bool,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in DETAILS:
        value = details.get(key)
        # Line breaks as LF, no other control characters; an empty text counts as none.
        values[key] = (clean_text(value).strip() or None) if value else None
    link = values["link"]
    if link is not None:
        try:
            check_url(link)
        except ValueError:
            log.warning("Appointment mail: the personal link is not an http(s) URL; left out")
            values["link"] = None
    values["video"] = values["video"] == "yes"
    for key in ("when", "previous_when", "duration", "adviser", "client"):
        if values[key] is not None:  # one-line values
            values[key] = one_line(values[key])
    values.update(
        kind=kind,
        copy=copy,
        organisation=one_line(organisation),
        # The greeting: the client's name, in the client's mail and in the adviser's copy.
        name=values["client"] if copy else (one_line(to.name or "") or None),
        can_reply=can_reply,
    )
    return values


def _header_address(person: Person) -> Address:
    """A header address that cannot add a header: the address is checked, and the name loses
    its line breaks and control characters (the email package quotes or encodes the rest).
    Python before 3.11.10 / 3.12.5 did not quote a line break in a name itself
    (CVE-2024-6923)."""
    return Address(display_name=param_text(person.name), addr_spec=check_address(person.email))
