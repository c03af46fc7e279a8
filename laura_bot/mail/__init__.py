"""Appointment mail: invitations that calendars take (iCalendar), their texts, and SMTP.

Self-contained on purpose: it knows nothing of the database, Matrix or the config, so the
appointments code hands it plain values and it hands back a message to send. The catcher
(aiosmtpd) is imported from laura_bot.mail.catcher only where it is used (`laura dev`, tests):
aiosmtpd is part of the demo extra, not of a production install.
"""

from __future__ import annotations

from .addresses import BadAddress, check_address
from .ical import CalendarEvent, Person, calendar
from .message import KINDS, MailTemplates, as_bytes, compose
from .smtp import SendFailed, SmtpSettings, send

__all__ = [
    "KINDS",
    "BadAddress",
    "CalendarEvent",
    "MailTemplates",
    "Person",
    "SendFailed",
    "SmtpSettings",
    "as_bytes",
    "calendar",
    "check_address",
    "compose",
    "send",
]
