"""iCalendar (RFC 5545) for appointments: the invitation, its updates and its cancellation
(iTIP, RFC 5546), and a plain .ics download or feed.

A calendar recognises an update to an event it holds by UID, and takes it when SEQUENCE is
higher than the one it has: so an appointment keeps one UID for its whole life and every
change (and the cancel) raises SEQUENCE. Times carry the organisation's zone (TZID) with a
VTIMEZONE beside them, so a client in another zone, and one that does not know IANA names,
still puts the appointment at the right instant on both sides of a DST change.

Every text here comes from people. icalendar escapes TEXT values (`\\n`, `\\;`, `\\,`), so a
line break or a `;` cannot start a property; URI and cal-address values are not escaped, so
those are checked here; and names that go into a parameter (CN) lose their line breaks and
quotes, because not every client decodes RFC 6868's `^n` and `^'`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from .addresses import check_address

METHODS = ("REQUEST", "CANCEL", "PUBLISH")
PRODID = "-//Laura//Appointments//EN"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Control characters and the Unicode line separators, which some readers split lines on.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")  # keeps \t and \n
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f\"<>\\^`{|}]+", re.IGNORECASE)


@dataclass(frozen=True)
class Person:
    name: str | None
    email: str


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # fixed for an appointment's life, e.g. "<id>@<domain>"
    sequence: int  # 0 at booking, +1 on every change and on the cancel
    method: str  # "REQUEST" or "CANCEL" ("PUBLISH" for a download or feed)
    start: dt.datetime  # aware, with a zoneinfo.ZoneInfo (the organisation's zone)
    end: dt.datetime
    summary: str  # generic, e.g. "Afspraak met Zorg Oost": the caller keeps health details out
    location: str | None
    description: str | None
    url: str | None  # the client's personal page for this appointment
    organizer: Person  # the organisation's address
    attendees: tuple[Person, ...]  # the client (and the adviser when they get a copy)
    stamp: dt.datetime  # DTSTAMP, when this version was made (written in UTC)
    cancelled: bool = False  # STATUS:CANCELLED


def calendar(
    events: Sequence[CalendarEvent],
    method: str,
    prodid: str = PRODID,
    *,
    name: str | None = None,
) -> bytes:
    """A VCALENDAR with METHOD, one VTIMEZONE per zone the events use and one VEVENT per event,
    as bytes (UTF-8, CRLF, lines folded at 75 octets). name sets X-WR-CALNAME (for a feed).

    REQUEST and CANCEL list the attendees (ROLE=REQ-PARTICIPANT, PARTSTAT=NEEDS-ACTION,
    RSVP=FALSE: Laura does not read replies); PUBLISH leaves them out, as RFC 5546 asks, so a
    download is just an entry in the reader's own calendar, not a meeting they were invited to.
    A CANCEL marks its events STATUS:CANCELLED whatever their `cancelled` says."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    cal = icalendar.Calendar()
    cal.add("PRODID", clean_text(prodid))
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", method)
    if name:
        cal.add("X-WR-CALNAME", one_line(name))
    for zone, first_year, last_year in _zones(events):
        cal.add_component(vtimezone(zone, first_year, last_year))
    for event in events:
        cal.add_component(_vevent(event, method))
    return cal.to_ical()


def _vevent(event: CalendarEvent, method: str) -> icalendar.Event:
    if event.sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    if event.end <= event.start:
        raise ValueError("an appointment must end after it starts")
    vevent = icalendar.Event()
    vevent.add("UID", one_line(event.uid))
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTAMP", _utc(event.stamp))
    vevent.add("DTSTART", _zoned(event.start))
    vevent.add("DTEND", _zoned(event.end))
    cancelled = event.cancelled or method == "CANCEL"
    vevent.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    vevent.add("SUMMARY", clean_text(event.summary))
    if event.location:
        vevent.add("LOCATION", clean_text(event.location))
    if event.description:
        vevent.add("DESCRIPTION", clean_text(event.description))
    if event.url:
        vevent.add("URL", check_url(event.url))
    # Privacy: the client's calendar may be shared with family or an employer, and the
    # adviser's with colleagues. PRIVATE asks Outlook and Google to show only "busy" there.
    vevent.add("CLASS", "PRIVATE")
    vevent.add("TRANSP", "OPAQUE")
    # A download or a feed may come from a Laura that sends no mail (no organiser address);
    # an invitation always has one.
    if event.organizer.email or method != "PUBLISH":
        vevent.add("ORGANIZER", _address(event.organizer))
    if method != "PUBLISH":
        for person in event.attendees:
            attendee = _address(person)
            attendee.params["CUTYPE"] = "INDIVIDUAL"
            attendee.params["ROLE"] = "REQ-PARTICIPANT"
            attendee.params["PARTSTAT"] = "NEEDS-ACTION"
            attendee.params["RSVP"] = "FALSE"
            vevent.add("ATTENDEE", attendee)
    return vevent


def check_url(value: str) -> str:
    """An http(s) URL with nothing that could end the value (URI values are not escaped)."""
    if not _URL.fullmatch(value):
        raise ValueError("the URL must be http(s) without spaces, line breaks or quotes")
    return value


def param_text(value: str | None) -> str:
    """A name fit for a parameter value (CN): one line, no double quote, no control
    characters, at most 100 characters."""
    if not value:
        return ""
    return one_line(value).replace('"', "")[:100].strip()


def _address(person: Person) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{check_address(person.email)}")
    name = param_text(person.name)
    if name:
        address.params["CN"] = name
    return address


def clean_text(value: str) -> str:
    """Text for a TEXT value: line breaks as LF (icalendar writes them as \\n), other control
    characters dropped (RFC 5545 allows none but HTAB in TEXT)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(value: str) -> str:
    """value on one line: control characters and line breaks become spaces, runs of white
    space one space."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _zoned(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment.tzinfo, ZoneInfo):
        raise ValueError("appointment times need a zoneinfo.ZoneInfo time zone")
    return moment


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("DTSTAMP needs an aware datetime")
    return moment.astimezone(dt.UTC)


def _zones(events: Iterable[CalendarEvent]) -> list[tuple[ZoneInfo, int, int]]:
    """Each zone the events use, with the years its VTIMEZONE must cover: from the year
    before the first appointment (so the observance in force on 1 January is there) to two
    years after the last (so a yearly rule is seen to hold, not guessed)."""
    years: dict[str, tuple[ZoneInfo, int, int]] = {}
    for event in events:
        for moment in (event.start, event.end):
            zone = _zoned(moment).tzinfo
            assert isinstance(zone, ZoneInfo)
            known = years.get(zone.key)
            low, high = moment.year - 1, moment.year + 2
            if known is not None:
                low, high = min(low, known[1]), max(high, known[2])
            years[zone.key] = (zone, low, high)
    return [years[key] for key in sorted(years)]


# --- VTIMEZONE -------------------------------------------------------------------------------
#
# Built here from zoneinfo's transitions rather than with icalendar's Timezone.from_tzinfo, for
# two reasons found while testing. from_tzinfo lists every transition as an RDATE, and Outlook
# for Windows ignores RDATE in a VTIMEZONE and then shifts summer appointments by an hour
# (reported against iCalcreator, issues 86 and 106); Google and Outlook themselves write one
# yearly RRULE per observance ("last Sunday of March"), which every client reads. And read back
# (Timezone.to_tz), from_tzinfo's output is an hour off around some transitions and weeks off
# for Morocco. So: find the zone's real offset changes in the window; when each observance
# follows one yearly rule over the whole window, write that rule; otherwise (a zone that changed
# its rules, or whose dates fit no rule, like Morocco's) list the onsets as RDATEs after an
# observance for the offset in force at the window's start.


@dataclass(frozen=True)
class _Observance:
    daylight: bool
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    start: dt.datetime  # local time of the first onset, in offset_from (RFC 5545 3.6.5)
    rdates: tuple[dt.datetime, ...] = ()
    byday: str | None = None  # "-1SU", "2SU"...: a yearly rule
    bymonth: int | None = None


def vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> icalendar.Timezone:
    """A VTIMEZONE for zone, right for every instant from 1 January first_year to 31 December
    last_year."""
    tz = icalendar.Timezone()
    tz.add("TZID", zone.key)
    for obs in _observances(zone.key, first_year, last_year):
        sub = icalendar.TimezoneDaylight() if obs.daylight else icalendar.TimezoneStandard()
        sub.add("DTSTART", obs.start)
        if obs.byday is not None:
            sub.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": obs.bymonth, "BYDAY": obs.byday})
        if obs.rdates:
            sub.add("RDATE", list(obs.rdates))
        sub.add("TZOFFSETFROM", obs.offset_from)
        sub.add("TZOFFSETTO", obs.offset_to)
        sub.add("TZNAME", obs.name)
        tz.add_component(sub)
    return tz


@lru_cache(maxsize=64)
def _observances(key: str, first_year: int, last_year: int) -> tuple[_Observance, ...]:
    zone = ZoneInfo(key)
    begin = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    local_begin = begin.astimezone(zone)
    offset_begin = local_begin.utcoffset() or dt.timedelta()
    opening = _Observance(
        False,
        offset_begin,
        offset_begin,
        local_begin.tzname() or "",
        (begin + offset_begin).replace(tzinfo=None),
    )
    transitions = _transitions(zone, begin, dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC))
    if not transitions:
        return (opening,)
    # Daylight is the observance with the larger offset, as Outlook and Google have it (Python
    # calls Dublin's winter time the daylight one: tzdata gives it a negative DST).
    groups: dict[tuple[bool, dt.timedelta, dt.timedelta, str], list[dt.datetime]] = {}
    for instant, before, after in transitions:
        group = (after > before, before, after, instant.astimezone(zone).tzname() or "")
        groups.setdefault(group, []).append((instant + before).replace(tzinfo=None))
    ruled: list[_Observance] = []
    for (daylight, before, after, name), onsets in groups.items():
        rule = _yearly_rule(onsets, first_year, last_year)
        if rule is None:
            break
        ruled.append(_Observance(daylight, before, after, name, onsets[0], (), *rule))
    else:
        return tuple(ruled)
    listed = [
        _Observance(daylight, before, after, name, onsets[0], tuple(onsets[1:]))
        for (daylight, before, after, name), onsets in groups.items()
    ]
    return (opening, *listed)


def _yearly_rule(
    onsets: list[dt.datetime], first_year: int, last_year: int
) -> tuple[str, int] | None:
    """(BYDAY, BYMONTH) if the onsets are one a year, every year of the window, on the same
    n-th (or last) weekday of the same month at the same time; else None."""
    if [o.year for o in onsets] != list(range(first_year, last_year + 1)):
        return None
    first = onsets[0]
    if any(
        (o.month, o.weekday(), o.time()) != (first.month, first.weekday(), first.time())
        for o in onsets
    ):
        return None
    weekday = _WEEKDAYS[first.weekday()]
    if all(_is_last(o) for o in onsets):
        return f"-1{weekday}", first.month
    nth = {(o.day - 1) // 7 + 1 for o in onsets}
    if len(nth) == 1:
        return f"{nth.pop()}{weekday}", first.month
    return None


def _is_last(moment: dt.datetime) -> bool:
    return (moment + dt.timedelta(days=7)).month != moment.month


def _transitions(
    zone: ZoneInfo, begin: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta]]:
    """(first UTC instant of the new offset, offset before, offset after) for every change of
    the zone's UTC offset from begin to end: steps of 6 hours (no zone changes its offset
    twice within 6 hours), then bisection to the second."""

    def offset(at: dt.datetime) -> dt.timedelta:
        return at.astimezone(zone).utcoffset() or dt.timedelta()

    found: list[tuple[dt.datetime, dt.timedelta, dt.timedelta]] = []
    step = dt.timedelta(hours=6)
    low, low_offset = begin, offset(begin)
    while low < end:
        high = min(low + step, end)
        high_offset = offset(high)
        if high_offset != low_offset:
            a, b = int(low.timestamp()), int(high.timestamp())
            while b - a > 1:
                middle = (a + b) // 2
                if offset(dt.datetime.fromtimestamp(middle, dt.UTC)) == low_offset:
                    a = middle
                else:
                    b = middle
            found.append((dt.datetime.fromtimestamp(b, dt.UTC), low_offset, high_offset))
        low, low_offset = high, high_offset
    return found
