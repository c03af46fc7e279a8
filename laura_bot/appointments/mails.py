"""The mails of an appointment: its calendar event (one UID for its whole life, SEQUENCE one
higher on each change) and the client's and the adviser's mail for each change.

What may carry health details (the title, the remarks, the type's name) stays out of the
subject and the calendar's SUMMARY, which mail servers and calendars log and show on lock
screens: the summary says only who the appointment is with.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..db.appointments import Appointment
from ..db.staff_members import StaffMember
from ..mail.ical import CalendarEvent, Person, calendar
from ..mail.message import DEFAULT_TEMPLATES, MailTemplates, as_bytes, compose
from ..texts import VISITOR, render, text_in
from .times import format_when

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store

CLIENT_FIELDS = ("title", "location", "remarks", "adviser")


class AppointmentMails:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store

    @property
    def enabled(self) -> bool:
        return bool(self.config["mail.host"])

    @property
    def templates(self) -> MailTemplates:
        folder = str(self.config["mail.templates"] or "")
        return MailTemplates(override=Path(folder)) if folder else DEFAULT_TEMPLATES

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.config["laura.timezone"]))

    @property
    def organisation(self) -> Person:
        name = str(self.config["mail.from_name"] or self.config["laura.organization"])
        return Person(name, str(self.config["mail.from"]))

    def text(self, lang: str, name: str, **values: str) -> str:
        source = text_in(VISITOR, lang, name) or ""
        return render(source, organization=str(self.config["laura.organization"]), **values)

    def event(
        self,
        appt: Appointment,
        adviser: StaffMember | None,
        link: str | None,
        method: str,
        with_adviser: bool = True,
    ) -> CalendarEvent:
        tz = self.tz
        lang = appt.lang
        summary = self.text(
            lang, "appointment_summary_video" if appt.video else "appointment_summary"
        )
        client = Person(appt.client_name, appt.client_email or "")
        attendees = [client] if appt.client_email else []
        if with_adviser and adviser is not None and adviser.email:
            attendees.append(Person(adviser.nickname, adviser.email))
        return CalendarEvent(
            uid=appt.uid,
            sequence=appt.sequence,
            method=method,
            start=datetime.fromtimestamp(appt.start_at / 1000, UTC).astimezone(tz),
            end=datetime.fromtimestamp(appt.end_at / 1000, UTC).astimezone(tz),
            summary=summary,
            location=self.location(appt),
            description=self.text(lang, "appointment_description", link=link or "")
            if link
            else None,
            url=link,
            organizer=self.organisation,
            attendees=tuple(attendees),
            stamp=datetime.now(UTC),
            cancelled=appt.cancelled,
        )

    def location(self, appt: Appointment) -> str | None:
        if appt.location_kind == "home":
            return self.text(appt.lang, "appointment_at_home")
        if appt.location_kind in ("video", "chat", "phone"):
            return self.text(appt.lang, f"appointment_by_{appt.location_kind}")
        return appt.location

    def ics(self, appt: Appointment, adviser: StaffMember | None, link: str | None) -> bytes:
        """The appointment as a calendar file to download (METHOD:PUBLISH: no invitation)."""
        return calendar([self.event(appt, adviser, link, "PUBLISH")], "PUBLISH")

    async def feed(self, appts: list[Appointment], details: bool) -> bytes:
        """An adviser's calendar feed (METHOD:PUBLISH). Without details each event says only
        its number and type; cancelled ones stay in it, marked cancelled."""
        titles = {k.name: k.title for k in await self.store.appointments.types(True)}
        events = []
        for appt in appts:
            label = titles.get(appt.type_name, appt.type_name)
            summary = f"#{appt.nr} {label}"
            if details:
                summary = f"#{appt.nr} {appt.title}" + (
                    f" ({appt.client_name})" if appt.client_name else ""
                )
            event = self.event(appt, None, None, "PUBLISH", with_adviser=False)
            events.append(
                replace(
                    event,
                    summary=summary,
                    location=self.location(appt) if details else None,
                    description=None,
                    attendees=(),
                )
            )
        return calendar(events, "PUBLISH")

    async def compose(
        self, appt: Appointment, kind: str, adviser: StaffMember, link: str
    ) -> list[tuple[str, str]]:
        """(recipient, the whole message as text) of the client's mail and the adviser's copy
        for a change of this kind: booked, moved, changed, cancelled or reminder."""
        kind_row = await self.store.appointments.get_type(appt.type_name)
        shown = set(kind_row.client_fields) if kind_row else set(CLIENT_FIELDS)
        method = "CANCEL" if appt.cancelled else "REQUEST"
        event = self.event(appt, adviser, link, method, with_adviser=False)
        if "location" not in shown:
            event = replace(event, location=None)
        minutes = (appt.end_at - appt.start_at) // 60_000
        details: dict[str, str | None] = {
            "title": appt.title if "title" in shown else None,
            "location": self.location(appt) if "location" in shown else None,
            "remarks": appt.remarks if "remarks" in shown else None,
            "when": format_when(event.start, self.tz, appt.lang),
            "duration": self.text(appt.lang, "appointment_duration", minutes=str(minutes)),
            "adviser": adviser.nickname if "adviser" in shown else None,
            "link": link,
            "video": "yes" if appt.video else None,
        }
        out: list[tuple[str, str]] = []
        domain = str(self.config["homeserver.domain"])
        sender = self.organisation
        recipients = []
        # A change or a cancellation always reaches the client (a move is a full invitation,
        # so it also informs a client whose confirmation staff had not sent yet); a reminder
        # only one who heard of the appointment before.
        if appt.client_email and (kind != "reminder" or appt.mailed):
            recipients.append((Person(appt.client_name, appt.client_email), False))
        if adviser.email and kind != "reminder":
            recipients.append((Person(adviser.nickname, adviser.email), True))
        for to, copy in recipients:
            # Each one's copy lists only them: the client does not see the adviser's address,
            # and the adviser's calendar takes the same event (same UID) as theirs.
            msg = compose(
                kind=kind,
                lang=appt.lang,
                event=replace(event, attendees=(to,)),
                method=method,
                sender=sender,
                to=to,
                organisation=sender.name or "",
                details=details,
                message_id_domain=domain,
                copy=copy,
                reply_to=str(self.config["mail.reply_to"] or "") or None,
                templates=self.templates,
            )
            out.append((to.email, _text(msg)))
        return out


def _text(msg: EmailMessage) -> str:
    return as_bytes(msg).decode("utf-8")
