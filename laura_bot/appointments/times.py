"""Appointment times as staff type them in bot commands (``!afspraak intake 24-12-2026 14:30
45m``), and as Laura shows them back.

Staff think in the organisation's wall clock, but an appointment is a moment: twice a year
the wall clock and the moment part ways. In spring an hour of wall times never happens
(2026-03-29 02:30 in Amsterdam) and is refused; in autumn an hour happens twice (2026-10-25
02:30) and Laura asks which one is meant, naming both as a time with its UTC offset
(``02:30+02:00``, ``02:30+01:00``), which is also how staff answer. Which wall times exist is
found by asking the zone (a round trip through UTC with both PEP 495 folds), never from a
list of dates, so every zone and every future rule change is handled alike.

Everything here is pure; problems are TimeProblem, whose text id is a staff text.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from ..texts import staff_text
from ..weekly import ScheduleError, parse_date

MIN_DURATION = 5
MAX_DURATION = 12 * 60

_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\s*$")
_MINUTES = re.compile(r"^\s*(\d{1,4})\s*(?:m|min)?\s*$", re.IGNORECASE)
_HOURS = re.compile(r"^\s*(\d{1,2})\s*[hu](?:\s*(\d{1,2})\s*(?:m|min)?)?\s*$", re.IGNORECASE)
_MAX_OFFSET = 14 * 60  # the largest UTC offset any zone uses (Kiribati)
_ECHO = 40  # what staff typed is quoted back, cut to this length


class TimeProblem(ValueError):
    """A typed date, time or duration Laura cannot use. ``text_id`` is a staff text (e.g.
    ``appointment_bad_time``, ``appointment_time_gap``, ``appointment_time_ambiguous``,
    ``appointment_bad_duration``, ``appointment_bad_date``, ``appointment_in_past``) and
    ``values`` fill it in (``time``, ``date``, ``first``, ``second``, ``duration``)."""

    def __init__(self, text_id: str, **values: str) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values: dict[str, str] = {key: value[:_ECHO] for key, value in values.items()}


def parse_clock(text: str) -> tuple[int, int, int | None]:
    """``"14:30"``, ``"9:05"``, ``"14.30"`` → (hour, minute, None); with an explicit UTC
    offset, ``"02:30+01:00"`` (or ``+0100``, ``+1``) → (2, 30, 60)."""
    match = _CLOCK.match(text)
    if not match:
        raise TimeProblem("appointment_bad_time", time=text)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise TimeProblem("appointment_bad_time", time=text)
    if match.group(3) is None:
        return hour, minute, None
    offset_hours, offset_minutes = int(match.group(4)), int(match.group(5) or 0)
    offset = offset_hours * 60 + offset_minutes
    if offset_minutes > 59 or offset > _MAX_OFFSET:
        raise TimeProblem("appointment_bad_time", time=text)
    return hour, minute, -offset if match.group(3) == "-" else offset


def parse_minutes(text: str) -> int:
    """A duration: ``"45m"``, ``"45"``, ``"90min"``, ``"1h"``, ``"1h30"``, ``"1u30m"`` →
    minutes, from 5 minutes to 12 hours."""
    if match := _MINUTES.match(text):
        minutes = int(match.group(1))
    elif (match := _HOURS.match(text)) and int(match.group(2) or 0) < 60:
        minutes = int(match.group(1)) * 60 + int(match.group(2) or 0)
    else:
        raise TimeProblem("appointment_bad_duration", duration=text)
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise TimeProblem("appointment_bad_duration", duration=text)
    return minutes


def occurrences(wall: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, ...]:
    """The moments (aware, in ``tz``, earliest first) at which the clock in ``tz`` shows the
    naive wall time ``wall``: none in a spring gap, two in an autumn fold, else one.

    A wall time exists under a fold when it survives the round trip through UTC; the two
    folds are two moments only when they give different offsets.
    """
    naive = wall.replace(tzinfo=None, fold=0)
    found: list[dt.datetime] = []
    for fold in (0, 1):
        moment = naive.replace(tzinfo=tz, fold=fold)
        back = moment.astimezone(dt.UTC).astimezone(tz)
        if back.replace(tzinfo=None, fold=0) != naive:
            continue
        if not any(seen.utcoffset() == moment.utcoffset() for seen in found):
            found.append(moment)
    return tuple(sorted(found, key=lambda moment: moment.astimezone(dt.UTC)))


def _offset_text(offset: dt.timedelta | None) -> str:
    minutes = int((offset or dt.timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _date_text(day: dt.date) -> str:
    return f"{day.day:02d}-{day.month:02d}-{day.year}"


def local_start(day: dt.date, clock_text: str, tz: ZoneInfo) -> dt.datetime:
    """The moment (aware, in ``tz``) the clock shows ``clock_text`` on ``day``.

    A wall time that does not exist is refused (``appointment_time_gap``); one that exists
    twice needs its offset (``appointment_time_ambiguous`` names both ways to type it); an
    offset must be the one the zone has at that time (else ``appointment_bad_time``).
    """
    hour, minute, offset = parse_clock(clock_text)
    clock = f"{hour:02d}:{minute:02d}"
    moments = occurrences(dt.datetime.combine(day, dt.time(hour, minute)), tz)
    if not moments:
        raise TimeProblem("appointment_time_gap", time=clock, date=_date_text(day))
    if offset is None:
        if len(moments) > 1:
            first, second = (clock + _offset_text(moment.utcoffset()) for moment in moments)
            raise TimeProblem(
                "appointment_time_ambiguous",
                time=clock,
                date=_date_text(day),
                first=first,
                second=second,
            )
        return moments[0]
    for moment in moments:
        if moment.utcoffset() == dt.timedelta(minutes=offset):
            return moment
    raise TimeProblem("appointment_bad_time", time=clock_text)


def parse_when(date_text: str, clock_text: str, tz: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """A typed date and time → the moment (aware, in ``tz``), not before ``now`` (aware).

    A date without a year (``"24-12"``) is the next such day in the organisation's zone;
    a moment already past is refused (``appointment_in_past``): nobody books yesterday.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(tz).date()
    try:
        day = parse_date(date_text, year=today.year, today=today)
    except ScheduleError:
        raise TimeProblem("appointment_bad_date", date=date_text) from None
    start = local_start(day, clock_text, tz)
    # Compared in UTC: within one zone Python compares wall times and ignores the fold.
    if start.astimezone(dt.UTC) < now.astimezone(dt.UTC):
        raise TimeProblem("appointment_in_past", date=_date_text(day), time=f"{start:%H:%M}")
    return start


def format_day(day: dt.date, lang: str) -> str:
    """``"do 24-12-2026"`` (nl): a day as format_when shows it, without the time."""
    name = staff_text(lang, "schedule_days_short").split()[day.weekday()]
    return f"{name} {_date_text(day)}"


def format_when(start: dt.datetime, tz: ZoneInfo, lang: str) -> str:
    """``"do 24-12-2026 14:30"`` (nl), ``"Thu 24-12-2026 14:30"`` (en): the short day name
    from the staff texts (schedule_days_short, as in schedules), the date as staff type it.
    A wall time the clock shows twice carries its offset (``02:30+01:00``), as typed."""
    local = start.astimezone(tz)
    text = f"{format_day(local.date(), lang)} {local:%H:%M}"
    if len(occurrences(local, tz)) > 1:
        text += _offset_text(local.utcoffset())
    return text
