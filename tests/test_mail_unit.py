"""Appointment mail (laura_bot/mail): every kind composed, sent over real SMTP to the in-process
catcher and read back the way a mail program would; the iCalendar a calendar would take (UID,
SEQUENCE, METHOD, VTIMEZONE, DST); and the ways people's text could break out of its place:
a header, an iCalendar property or parameter, the HTML."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP, Envelope, Session

from laura_bot.mail import (
    KINDS,
    BadAddress,
    CalendarEvent,
    MailTemplates,
    Person,
    SendFailed,
    SmtpSettings,
    as_bytes,
    calendar,
    check_address,
    compose,
    send,
)
from laura_bot.mail.catcher import MailCatcher
from laura_bot.mail.ical import vtimezone

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC
ORG = Person("Zorg Oost", "afspraken@zorg-oost.example.org")
CLIENT = Person("Jan Jansen", "jan@example.org")
ADVISER = Person("Anna de Vries", "anna@zorg-oost.example.org")
UID = "a7f3c9@zorg-oost.example.org"
ITIP_ATTENDEE = ("REQ-PARTICIPANT", "NEEDS-ACTION", "FALSE")  # ROLE, PARTSTAT, RSVP
# Words that may be in the body but never in a subject (mail servers log subjects).
SECRET_TITLE = "Intake depressie"
SECRET_REMARKS = "Neem uw medicijnlijst mee"
SECRET_LOCATION = "Psychiatrie, Hoofdstraat 1"


def event(**changes: Any) -> CalendarEvent:
    values: dict[str, Any] = {
        "uid": UID, "sequence": 0, "method": "REQUEST",
        "start": dt.datetime(2026, 3, 27, 10, 0, tzinfo=AMS),
        "end": dt.datetime(2026, 3, 27, 10, 45, tzinfo=AMS),
        "summary": "Afspraak met Zorg Oost", "location": SECRET_LOCATION,
        "description": "Uw persoonlijke pagina: https://zorg-oost.example.org/a/k3y",
        "url": "https://zorg-oost.example.org/a/k3y",
        "organizer": ORG, "attendees": (CLIENT,),
        "stamp": dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    }  # fmt: skip
    values.update(changes)
    return CalendarEvent(**values)


def details(**changes: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "title": SECRET_TITLE,
        "location": SECRET_LOCATION,
        "remarks": f"{SECRET_REMARKS}.\nTot dan!",
        "when": "vrijdag 27 maart 2026 om 10:00",
        "duration": "45 minuten",
        "adviser": "Anna de Vries",
        "link": "https://zorg-oost.example.org/a/k3y",
        "video": None,
    }
    values.update(changes)
    return values


def mail(kind: str = "booked", **changes: Any) -> EmailMessage:
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    args: dict[str, Any] = {
        "kind": kind, "lang": "nl", "method": method,
        "event": event(method=method, cancelled=kind == "cancelled"),
        "sender": ORG, "to": CLIENT, "organisation": "Zorg Oost", "details": details(),
        "message_id_domain": "zorg-oost.example.org",
    }  # fmt: skip
    args.update(changes)
    return compose(**args)


def calendar_of(msg: EmailMessage) -> tuple[str, icalendar.Calendar]:
    """The MIME method parameter and the parsed text/calendar part."""
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    part = parts[0]
    assert part.get_content_charset() == "utf-8"
    body = part.get_content()
    assert "\r\n" in body  # iCalendar lines end in CRLF
    return str(part.get_param("method")), icalendar.Calendar.from_ical(body)


def vevent_of(cal: icalendar.Calendar) -> icalendar.Event:
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


@pytest_asyncio.fixture
async def catcher() -> AsyncIterator[MailCatcher]:
    async with MailCatcher() as running:
        assert running.port != 0
        yield running


def smtp_to(catcher: MailCatcher) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", catcher.port, None, None, "none", timeout=10)


async def through_smtp(catcher: MailCatcher, msg: EmailMessage, to: str) -> EmailMessage:
    before = len(catcher.messages)
    await send(smtp_to(catcher), msg, sender=ORG.email, recipients=[to])
    received = await catcher.wait_for(before + 1)
    assert catcher.envelopes[before] == (ORG.email, [to])
    return received[before]


# --- every kind, over SMTP --------------------------------------------------------------------


@pytest.mark.parametrize("copy", [False, True], ids=["client", "copy"])
@pytest.mark.parametrize("lang", ["nl", "en", "pl"])
@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_arrives_as_calendars_want_it(
    catcher: MailCatcher, kind: str, lang: str, copy: bool
) -> None:
    to = ADVISER if copy else CLIENT
    attendees = (CLIENT, ADVISER) if copy else (CLIENT,)
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    sequence = {"booked": 0, "moved": 1, "changed": 2, "cancelled": 3, "reminder": 1}[kind]
    ev = event(method=method, sequence=sequence, attendees=attendees, cancelled=method == "CANCEL")
    more = details(client="Jan Jansen", previous_when="donderdag 26 maart 2026 om 9:00")
    reply_to = "balie@zorg-oost.example.org"
    sent = mail(kind, lang=lang, to=to, copy=copy, event=ev, details=more, reply_to=reply_to)
    got = await through_smtp(catcher, sent, to.email)

    # Headers: the organisation to one person; a machine wrote it.
    assert got["From"].addresses[0].addr_spec == ORG.email
    assert got["From"].addresses[0].display_name == "Zorg Oost"
    assert [a.addr_spec for a in got["To"].addresses] == [to.email]
    assert got["Reply-To"].addresses[0].addr_spec == "balie@zorg-oost.example.org"
    assert got["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<[^<>@\s]+@zorg-oost\.example\.org>", got["Message-ID"])
    assert got["Date"].datetime.tzinfo is not None
    assert got["Content-Language"] == lang
    # The subject: who and when, nothing about the appointment itself.
    # (Python folds a long subject right after "Subject:"; unfolded, the space is not part
    # of the text, and mail programs drop it.)
    subject = str(got["Subject"]).strip()
    assert "Zorg Oost" in subject and "27 maart 2026" in subject
    for secret in (SECRET_TITLE, SECRET_REMARKS, SECRET_LOCATION, "Hoofdstraat"):
        assert secret not in subject
    assert subject.startswith(("Kopie:", "Copy:", "Kopia:")) == copy

    # The texts, both UTF-8, saying the same things.
    plain, html = got.get_body(("plain",)), got.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    text, markup = plain.get_content(), html.get_content()
    for body in (text, markup):
        assert "Zorg Oost" in body and "27 maart 2026" in body
        assert SECRET_TITLE in body and SECRET_REMARKS in body
        assert "https://zorg-oost.example.org/a/k3y" in body
        assert "None" not in body
    assert f'<html lang="{lang}">' in markup

    # The structure: mixed(alternative(plain, html, calendar), application/ics).
    layout = [p.get_content_type() for p in got.walk()]
    if kind == "reminder":
        assert layout == ["multipart/alternative", "text/plain", "text/html"]
        return
    assert layout == [
        "multipart/mixed", "multipart/alternative",
        "text/plain", "text/html", "text/calendar",
        "application/ics",
    ]  # fmt: skip
    attachment = next(p for p in got.walk() if p.get_content_type() == "application/ics")
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == ("cancel.ics" if kind == "cancelled" else "invite.ics")

    mime_method, cal = calendar_of(got)
    assert mime_method == str(cal["METHOD"]) == method
    assert icalendar.Calendar.from_ical(attachment.get_content()) == cal
    vevent = vevent_of(cal)
    assert str(vevent["UID"]) == UID
    assert vevent["SEQUENCE"] == sequence
    assert str(vevent["STATUS"]) == ("CANCELLED" if kind == "cancelled" else "CONFIRMED")
    # The VTIMEZONE is there and is the one DTSTART and DTEND name.
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    assert vevent["DTSTART"].params["TZID"] == vevent["DTEND"].params["TZID"] == "Europe/Amsterdam"
    assert vevent.start == dt.datetime(2026, 3, 27, 10, 0, tzinfo=AMS)
    assert vevent.end - vevent.start == dt.timedelta(minutes=45)
    assert vevent["DTSTAMP"].dt == dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    # Organizer and attendees, as iTIP wants them.
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == f"mailto:{ORG.email}" and organizer.params["CN"] == "Zorg Oost"
    attendees_got = vevent["ATTENDEE"] if copy else [vevent["ATTENDEE"]]
    assert [str(a) for a in attendees_got] == [f"mailto:{p.email}" for p in attendees]
    for a in attendees_got:
        assert (a.params["ROLE"], a.params["PARTSTAT"], a.params["RSVP"]) == ITIP_ATTENDEE
    assert attendees_got[0].params["CN"] == "Jan Jansen"
    assert str(vevent["URL"]) == "https://zorg-oost.example.org/a/k3y"
    assert str(vevent["LOCATION"]) == SECRET_LOCATION


async def test_one_event_for_the_appointments_life(catcher: MailCatcher) -> None:
    """Booked, moved, cancelled: one UID, SEQUENCE rising, REQUEST, REQUEST, CANCEL."""
    moved_to = dt.datetime(2026, 3, 30, 10, 0, tzinfo=AMS)
    moved = {"start": moved_to, "end": moved_to + dt.timedelta(minutes=45)}
    steps = [
        ("booked", event()),
        ("moved", event(sequence=1, **moved)),
        ("cancelled", event(sequence=2, method="CANCEL", cancelled=True, **moved)),
    ]
    seen = []
    for kind, ev in steps:
        got = await through_smtp(catcher, mail(kind, event=ev), CLIENT.email)
        mime_method, cal = calendar_of(got)
        vevent = vevent_of(cal)
        seen.append((mime_method, str(vevent["UID"]), vevent["SEQUENCE"], str(vevent["STATUS"])))
    assert seen == [
        ("REQUEST", UID, 0, "CONFIRMED"),
        ("REQUEST", UID, 1, "CONFIRMED"),
        ("CANCEL", UID, 2, "CANCELLED"),
    ]
    assert len({m["Message-ID"] for m in catcher.messages}) == 3


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # The Friday before summer time (CET, UTC+1) and the Monday after (CEST, UTC+2).
        (dt.datetime(2026, 3, 27, 10, 0), dt.datetime(2026, 3, 27, 9, 0)),
        (dt.datetime(2026, 3, 30, 10, 0), dt.datetime(2026, 3, 30, 8, 0)),
        # And around the end of summer time.
        (dt.datetime(2026, 10, 23, 14, 30), dt.datetime(2026, 10, 23, 12, 30)),
        (dt.datetime(2026, 10, 26, 14, 30), dt.datetime(2026, 10, 26, 13, 30)),
        # January: the observance in force comes from the year before.
        (dt.datetime(2027, 1, 4, 9, 0), dt.datetime(2027, 1, 4, 8, 0)),
    ],
)
def test_dtstart_is_the_right_instant_across_dst(local: dt.datetime, utc: dt.datetime) -> None:
    start = local.replace(tzinfo=AMS)
    ics = calendar([event(start=start, end=start + dt.timedelta(hours=1))], "REQUEST")
    assert f"DTSTART;TZID=Europe/Amsterdam:{local:%Y%m%dT%H%M%S}".encode() in ics
    cal = icalendar.Calendar.from_ical(ics)
    vevent = vevent_of(cal)
    assert vevent.start.astimezone(UTC) == utc.replace(tzinfo=UTC)
    # Read with our VTIMEZONE's own rules, not with the IANA name (what a client without
    # Europe/Amsterdam in its database does).
    (zone,) = cal.walk("VTIMEZONE")
    rules = zone.to_tz(lookup_tzid=False)
    naive = vevent["DTSTART"].dt.replace(tzinfo=None)
    assert naive.replace(tzinfo=rules).astimezone(UTC) == utc.replace(tzinfo=UTC)


def test_vtimezone_uses_yearly_rules_where_the_zone_has_them() -> None:
    """Outlook for Windows ignores RDATE in a VTIMEZONE: regular zones get RRULEs."""
    zone = vtimezone(AMS, 2025, 2028)
    observances = {sub.name: sub for sub in zone.subcomponents}
    assert set(observances) == {"STANDARD", "DAYLIGHT"}
    assert observances["DAYLIGHT"]["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert observances["STANDARD"]["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    # RFC 5545: an onset is written in the offset in force before it.
    assert observances["DAYLIGHT"]["DTSTART"].dt == dt.datetime(2025, 3, 30, 2, 0)
    assert observances["STANDARD"]["DTSTART"].dt == dt.datetime(2025, 10, 26, 3, 0)
    assert b"RDATE" not in zone.to_ical()


@pytest.mark.parametrize(
    ("key", "years", "form"),
    [
        ("Europe/Amsterdam", (2025, 2028), "RRULE"),
        ("America/New_York", (2025, 2028), "RRULE"),
        ("Australia/Sydney", (2025, 2028), "RRULE"),  # summer across New Year
        ("Asia/Kolkata", (2025, 2028), None),  # no DST
        ("America/Sao_Paulo", (2017, 2020), "RDATE"),  # DST abolished in 2019
        ("Africa/Casablanca", (2025, 2028), "RDATE"),  # Ramadan: no yearly rule
    ],
)
def test_vtimezone_agrees_with_zoneinfo(
    key: str, years: tuple[int, int], form: str | None
) -> None:
    """Read back by icalendar from the VTIMEZONE alone, every hour of the window has the
    offset zoneinfo gives."""
    first, last = years
    text = vtimezone(ZoneInfo(key), first, last).to_ical()
    if form is not None:
        assert form.encode() in text
    (parsed,) = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + text + b"END:VCALENDAR\r\n"
    ).walk("VTIMEZONE")
    rules = parsed.to_tz(lookup_tzid=False)
    real = ZoneInfo(key)
    begin = dt.datetime(first + 1, 1, 1, tzinfo=UTC)
    hours = (dt.datetime(last + 1, 1, 1, tzinfo=UTC) - begin) // dt.timedelta(hours=1)
    moments = [begin + dt.timedelta(hours=n) for n in range(hours)]
    assert [m for m in moments if offset(m, rules) != offset(m, real)] == []


def offset(moment: dt.datetime, zone: dt.tzinfo) -> dt.timedelta | None:
    return moment.astimezone(zone).utcoffset()


def test_naive_or_fixed_offset_times_are_refused() -> None:
    for zone in (None, dt.timezone(dt.timedelta(hours=1))):
        start = dt.datetime(2026, 3, 27, 10, 0, tzinfo=zone)
        with pytest.raises(ValueError, match="ZoneInfo"):
            calendar([event(start=start, end=start + dt.timedelta(hours=1))], "REQUEST")
    with pytest.raises(ValueError, match="end after"):
        calendar([event(end=event().start)], "REQUEST")
    with pytest.raises(ValueError, match="method"):
        calendar([event()], "REPLY")


def test_publish_is_a_plain_entry_without_attendees() -> None:
    later = dt.datetime(2026, 7, 1, 9, 0, tzinfo=AMS)
    ics = calendar(
        [event(), event(uid="b@x.example.org", start=later, end=later + dt.timedelta(hours=1))],
        "PUBLISH",
        name="Mijn afspraken",
    )
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["METHOD"]) == "PUBLISH" and str(cal["X-WR-CALNAME"]) == "Mijn afspraken"
    assert len(cal.walk("VTIMEZONE")) == 1  # one per zone, not per event
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [UID, "b@x.example.org"]
    assert all("ATTENDEE" not in e and "ORGANIZER" in e for e in events)


# --- what people type stays where it belongs ----------------------------------------------------

ICAL_NAMES = {
    "BEGIN", "END", "PRODID", "VERSION", "CALSCALE", "METHOD",
    "TZID", "DTSTART", "RRULE", "RDATE", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME",
    "UID", "SEQUENCE", "DTSTAMP", "DTEND", "STATUS", "SUMMARY", "LOCATION", "DESCRIPTION",
    "URL", "CLASS", "TRANSP", "ORGANIZER", "ATTENDEE",
}  # fmt: skip


def property_names(ics: bytes) -> list[str]:
    unfolded = ics.decode().replace("\r\n ", "").replace("\r\n\t", "")
    assert "\r" not in unfolded.replace("\r\n", "") and "\n" not in unfolded.replace("\r\n", "")
    return [re.split("[;:]", line, maxsplit=1)[0] for line in unfolded.split("\r\n") if line]


def test_icalendar_injection_is_refused() -> None:
    summary = "Afspraak\r\nATTENDEE:mailto:evil@evil.example.org\r\nRRULE:FREQ=DAILY"
    location = "Kamer 1; gang B, 2e etage\nDTSTART:20000101T000000Z\rEND:VEVENT\x07"
    description = "Regel 1\r\nBEGIN:VALARM\nACTION:EMAIL\\n;x,y"
    hostile = Person('Eve"\r\n;ROLE=CHAIR;X="1":mailto:evil@evil.example.org', CLIENT.email)
    organizer = Person('Zorg: Oost; team, "noord"', ORG.email)
    ics = calendar(
        [
            event(
                uid="42@x.example.org\r\nRRULE:FREQ=DAILY",
                summary=summary,
                location=location,
                description=description,
                organizer=organizer,
                attendees=(hostile,),
            )
        ],
        "REQUEST",
    )
    names = property_names(ics)
    assert set(names) <= ICAL_NAMES
    assert names.count("ATTENDEE") == 1 and names.count("RRULE") == 2  # the two observances
    # VCALENDAR, VTIMEZONE with DAYLIGHT and STANDARD, and the one VEVENT: no VALARM, no more.
    assert names.count("BEGIN") == 5 and names.count("UID") == 1
    vevent = vevent_of(icalendar.Calendar.from_ical(ics))
    assert set(vevent.keys()) == {
        "UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "STATUS", "SUMMARY", "LOCATION",
        "DESCRIPTION", "URL", "CLASS", "TRANSP", "ORGANIZER", "ATTENDEE",
    }  # fmt: skip
    assert not vevent.walk("VALARM")
    # The values come back as given (line ends as LF; control characters dropped).
    assert str(vevent["SUMMARY"]) == summary.replace("\r\n", "\n")
    assert str(vevent["LOCATION"]) == location.replace("\r", "\n").replace("\x07", "")
    assert str(vevent["DESCRIPTION"]) == description.replace("\r\n", "\n")
    assert str(vevent["UID"]) == "42@x.example.org RRULE:FREQ=DAILY"
    # A name in a parameter cannot add a parameter or end the property.
    attendee = vevent["ATTENDEE"]
    assert str(attendee) == f"mailto:{CLIENT.email}"
    assert set(attendee.params) == {"CN", "CUTYPE", "ROLE", "PARTSTAT", "RSVP"}
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["CN"] == "Eve ;ROLE=CHAIR;X=1:mailto:evil@evil.example.org"
    assert vevent["ORGANIZER"].params["CN"] == "Zorg: Oost; team, noord"
    assert b"evil@evil.example.org\r\n" not in ics


def test_icalendar_refuses_unsafe_uris_and_addresses() -> None:
    with pytest.raises(ValueError, match="URL"):
        calendar([event(url="https://x.example.org/\r\nATTENDEE:mailto:e@x.org")], "REQUEST")
    with pytest.raises(ValueError, match="URL"):
        calendar([event(url="javascript:alert(1)")], "REQUEST")
    with pytest.raises(BadAddress):
        calendar([event(attendees=(Person("E", "e@x.example.org\r\nX:1"),))], "REQUEST")
    with pytest.raises(BadAddress):
        calendar([event(organizer=Person("E", "Zorg <a@x.example.org>"))], "REQUEST")


async def test_header_injection_is_refused(catcher: MailCatcher) -> None:
    eve = Person("Eve\r\nBcc: x@evil.example.org", "eve@example.org")
    sender = Person('Zorg "Oost"\nX-Evil: 1', ORG.email)
    organisation = "Zorg Oost\r\nBcc: y@evil.example.org"
    when = details(when="morgen\r\nBcc: z@evil.example.org")
    msg = mail(to=eve, sender=sender, organisation=organisation, details=when)
    raw = as_bytes(msg)
    got = await through_smtp(catcher, msg, eve.email)
    for parsed in (got, msg):
        assert parsed["Bcc"] is None and parsed["X-Evil"] is None
        assert [a.addr_spec for a in parsed["To"].addresses] == ["eve@example.org"]
        assert [a.addr_spec for a in parsed["From"].addresses] == [ORG.email]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^(Bcc|X-Evil):", head, re.IGNORECASE | re.MULTILINE)
    assert "Bcc" in str(got["Subject"])  # still there, as text on the one line
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    with pytest.raises(BadAddress):
        mail(to=Person("Eve", "eve@example.org\r\nBcc: x@evil.example.org"))
    with pytest.raises(BadAddress):
        mail(reply_to="Eve <eve@example.org>")


def test_html_escapes_what_people_typed() -> None:
    typed = details(
        title="<b>Intake</b>", remarks="<script>alert('x')</script>\nTweede regel",
        adviser='"><img src=x onerror=alert(1)>', location="Kamer <1> & 2",
        link="javascript:alert(1)",
    )  # fmt: skip
    msg = mail(details=typed, organisation="Zorg & <Oost>")
    html, plain = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html is not None and plain is not None
    markup = html.get_content()
    assert "<script" not in markup and "&lt;script&gt;" in markup
    assert "<img" not in markup and "<b>" not in markup and "<Oost>" not in markup
    assert "Zorg &amp; &lt;Oost&gt;" in markup and "Kamer &lt;1&gt; &amp; 2" in markup
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>\nTweede regel" in markup
    assert "javascript:" not in markup  # not an http(s) link: left out
    # The plain text is plain: as typed.
    assert "<script>alert('x')</script>" in plain.get_content()


# --- languages and arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "greeting"),
    [("nl", "Beste"), ("en", "Dear"), ("en-GB", "Dear"), ("pl", "Dzień dobry"), ("fy", "Beste")],
)
def test_language_and_fallback(lang: str, greeting: str) -> None:
    plain = mail(lang=lang).get_body(("plain",))
    assert plain is not None and plain.get_content().startswith(greeting)


def test_operator_templates_come_first(tmp_path: Path) -> None:
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "subject.txt").write_text("Afspraak {{ organisation }}, {{ when }}")
    msg = mail(templates=MailTemplates(tmp_path))
    assert str(msg["Subject"]) == "Afspraak Zorg Oost, vrijdag 27 maart 2026 om 10:00"
    plain = msg.get_body(("plain",))
    assert plain is not None and plain.get_content().startswith("Beste")  # Laura's own body


def test_compose_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="kind"):
        mail("postponed")
    with pytest.raises(ValueError, match="CANCEL"):
        mail("cancelled", method="REQUEST")
    with pytest.raises(ValueError, match="REQUEST"):
        mail("moved", event=event(method="CANCEL"))
    with pytest.raises(ValueError, match="host name"):
        mail(message_id_domain="x.example.org>\r\nBcc: e@x.org")
    with pytest.raises(ValueError, match="when"):
        mail(details=details(when=None))


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("jan@example.org", "jan@example.org"),
        ("  Jan.Jansen+zorg@Example.ORG ", "Jan.Jansen+zorg@example.org"),
        ("jan@bücher.de", "jan@xn--bcher-kva.de"),
        ("jan@xn--bcher-kva.de", "jan@xn--bcher-kva.de"),
    ],
)
def test_check_address_accepts(given: str, normalised: str) -> None:
    assert check_address(given) == normalised


@pytest.mark.parametrize(
    "given",
    [
        "jan@example.org\r\nBcc: x@evil.example.org",
        "jan@example.org\n",
        "jan\r@example.org",
        "Jan Jansen <jan@example.org>",
        '"Jan" <jan@example.org>',
        "<jan@example.org>",
        "jan@example",
        "jan@localhost",  # no TLD
        "jan@zorg.test",  # special use
        "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.org",  # over 254
        "",
        "jan",
        "jan@@example.org",
        "jan@exa mple.org",
        "jan@[192.0.2.1]",
        "jän@example.org",  # would need SMTPUTF8
    ],  # fmt: skip
)
def test_check_address_refuses(given: str) -> None:
    with pytest.raises(BadAddress):
        check_address(given)
    assert issubclass(BadAddress, ValueError)


# --- SMTP and the catcher -----------------------------------------------------------------------


class Refusing(MailCatcher):
    """A server that refuses every recipient with the given reply."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return self.reply


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 <jan@example.org>: unknown user", True), ("451 4.3.0 try later", False)],
)
async def test_refusals_are_permanent_or_temporary(reply: str, permanent: bool) -> None:
    async with Refusing(reply) as server:
        with pytest.raises(SendFailed) as caught:
            await send(smtp_to(server), mail(), sender=ORG.email, recipients=[CLIENT.email])
    assert caught.value.permanent is permanent
    assert caught.value.code == int(reply[:3])
    assert "jan@example.org" not in str(caught.value)  # the reply is kept apart from the log line
    assert "jan@example.org" in caught.value.reply or not permanent


async def test_no_server_is_temporary() -> None:
    async with MailCatcher() as gone:
        port = gone.port
    settings = SmtpSettings("127.0.0.1", port, None, None, "none", timeout=5)
    with pytest.raises(SendFailed) as caught:
        await send(settings, mail(), sender=ORG.email, recipients=[CLIENT.email])
    assert caught.value.permanent is False and caught.value.code is None


async def test_starttls_required_but_not_offered_is_permanent(catcher: MailCatcher) -> None:
    settings = SmtpSettings("127.0.0.1", catcher.port, None, None, "starttls", timeout=5)
    with pytest.raises(SendFailed) as caught:
        await send(settings, mail(), sender=ORG.email, recipients=[CLIENT.email])
    assert caught.value.permanent is True
    assert catcher.messages == []
    with pytest.raises(ValueError, match="security"):
        SmtpSettings("localhost", 25, None, None, "ssl")


async def test_catcher_keeps_eml_files(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    async with MailCatcher(folder) as catcher:
        await send(smtp_to(catcher), mail(), sender=ORG.email, recipients=[CLIENT.email])
        await send(smtp_to(catcher), mail("reminder"), sender=ORG.email, recipients=[CLIENT.email])
        got = await catcher.wait_for(2)
    files = sorted(folder.glob("*.eml"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    names = [re.fullmatch(r"\d{8}T\d{12}-(\d+)\.eml", p.name) for p in files]
    assert [m.group(1) if m else None for m in names] == ["1", "2"]
    assert b"Subject: Uw afspraak met Zorg Oost" in files[0].read_bytes()
    assert [str(m["Subject"]).strip()[:11] for m in got] == ["Uw afspraak", "Herinnering"]


async def test_wait_for_times_out(catcher: MailCatcher) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        await catcher.wait_for(1, timeout=0.2)
