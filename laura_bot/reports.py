"""Reports for the organisation: per department and day, and per staff member, over a period
(`!rapport` in the control room with a CSV file, `GET /api/v1/admin/report` as JSON).

Everything is counted from the conversations' skeletons (db/reports.py), which retention keeps
when it deletes a chat's content: a report over last month counts the chats deleted since.
A chat belongs to the day (in laura.timezone) it started on, and to one outcome:

- taken: a staff member took it (also when it was missed before and taken after all);
- missed: not taken, and Laura stopped waiting for staff, because the time ran out
  (`timeout`) or everybody declined (`declined`);
- abandoned: not taken nor missed, and the visitor left the queue (ended it, or walked away
  and retention closed it);
- contact requests are counted beside these: every chat that ended with contact details left
  (after a miss, while waiting, or from the offline form).

Times are whole seconds: to take (from entering the queue to being taken: the median and the
90th percentile) and the chat's duration (from being taken to its end: the median).
Percentiles interpolate between the nearest values (spreadsheets' PERCENTILE.INC). No visitor
is named anywhere: staff are named by their Matrix user id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .db.reports import ChatFacts, DepartmentName, ReportStore
from .weekly import ScheduleError, parse_date

MAX_DAYS = 366  # the longest period a report covers
FIRST_YEAR, LAST_YEAR = 1970, 9998  # no period lies outside (and no date overflows)
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATE_LIKE = re.compile(r"^[0-9./-]+$")
# The words a period is typed with, in the languages staff may type them in.
WEEK = ("week", "tydzień", "tydzien")
MONTH = ("month", "maand", "miesiąc", "miesiac")
TODAY = ("today", "vandaag", "dzisiaj")
ABANDONED_BY = ("visitor", "idle")  # ended_by of a chat left while waiting
DAY_COLUMNS = (
    "department",
    "label",
    "date",
    "started",
    "taken",
    "missed_timeout",
    "missed_declined",
    "abandoned",
    "contact_requests",
    "take_median_s",
    "take_p90_s",
    "duration_median_s",
    "ratings",
    "rating_average",
)
STAFF_COLUMNS = ("staff", "taken", "ratings", "rating_average")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ReportError(ValueError):
    """Input that is no period; text_id and values say why (a staff text report_*)."""

    def __init__(self, text_id: str, **values: str) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values = values


@dataclass(frozen=True)
class Period:
    """Whole days, first to last inclusive, in the organisation's time zone."""

    first: dt.date
    last: dt.date

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Period:
        for day in (first, last):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise ReportError("report_bad_period", text=day.isoformat())
        if first > last:
            raise ReportError("report_reversed", first=first.isoformat(), last=last.isoformat())
        if (last - first).days + 1 > MAX_DAYS:
            raise ReportError("report_too_long", days=str(MAX_DAYS))
        return cls(first, last)

    def days(self) -> list[dt.date]:
        return [
            self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)
        ]

    def bounds(self, zone: ZoneInfo) -> tuple[int, int]:
        """[start, end) in ms: midnight of the first day to midnight after the last, local."""
        start = dt.datetime.combine(self.first, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _date(text: str, today: dt.date) -> dt.date | None:
    try:
        return parse_date(text, year=today.year)
    except ScheduleError:
        return None


def parse_period(args: Sequence[str], today: dt.date) -> tuple[Period, list[str]]:
    """The period the command's words start with, and the words after it (a department).
    `week` (the last 7 days, today too; the default when no period is given), `month` (the
    last 30 days), `today`, a month (`2026-11`), a day, or two days (both included)."""
    words = list(args)
    head = words[0].lower() if words else ""
    if not words or head in WEEK:
        return Period.between(today - dt.timedelta(days=6), today), words[1:]
    if head in MONTH:
        return Period.between(today - dt.timedelta(days=29), today), words[1:]
    if head in TODAY:
        return Period.between(today, today), words[1:]
    if match := _MONTH.match(head):
        year, month = int(match.group(1)), int(match.group(2))
        if not (1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR):
            raise ReportError("report_bad_period", text=words[0][:40])
        after = dt.date(year + month // 12, month % 12 + 1, 1)
        return Period.between(dt.date(year, month, 1), after - dt.timedelta(days=1)), words[1:]
    first = _date(head, today)
    if first is None:
        if _DATE_LIKE.match(head):  # a date or a month, mistyped
            raise ReportError("report_bad_period", text=words[0][:40])
        # No period: the default, and the words are the department.
        return Period.between(today - dt.timedelta(days=6), today), words
    last = _date(words[1], today) if len(words) > 1 else None
    if last is None:
        return Period.between(first, first), words[1:]
    return Period.between(first, last), words[2:]


def parse_range(first: str, last: str) -> Period:
    """The admin API's ?from=&to= (YYYY-MM-DD, both included)."""
    days = []
    for text in (first, last):
        try:
            if not _ISO_DAY.match(text):
                raise ValueError(text)
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            raise ReportError("report_bad_period", text=text[:40]) from None
    return Period.between(days[0], days[1])


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), interpolated between the nearest values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


@dataclass
class Figures:
    """What a report says of some chats: a department's day, a department, or all."""

    started: int = 0
    taken: int = 0
    missed_timeout: int = 0
    missed_declined: int = 0
    abandoned: int = 0
    contact_requests: int = 0
    take_times: list[float] = field(default_factory=list)  # seconds
    durations: list[float] = field(default_factory=list)  # seconds
    ratings: list[int] = field(default_factory=list)

    def add(self, chat: ChatFacts) -> None:
        self.started += 1
        if chat.taken_at is not None:
            self.taken += 1
            if chat.queued_at is not None:
                self.take_times.append(max(0, chat.taken_at - chat.queued_at) / 1000)
            if chat.ended_at is not None:
                self.durations.append(max(0, chat.ended_at - chat.taken_at) / 1000)
        elif chat.missed == "declined":
            self.missed_declined += 1
        elif chat.missed is not None:
            self.missed_timeout += 1
        elif chat.queued_at is not None and chat.ended_by in ABANDONED_BY:
            self.abandoned += 1
        if chat.ended_by == "contact":
            self.contact_requests += 1
        if chat.rating is not None:
            self.ratings.append(chat.rating)

    @property
    def missed(self) -> int:
        return self.missed_timeout + self.missed_declined

    def as_dict(self) -> dict[str, Any]:
        average = sum(self.ratings) / len(self.ratings) if self.ratings else None
        return {
            "started": self.started,
            "taken": self.taken,
            "missed_timeout": self.missed_timeout,
            "missed_declined": self.missed_declined,
            "abandoned": self.abandoned,
            "contact_requests": self.contact_requests,
            "take_median_s": _seconds(percentile(self.take_times, 50)),
            "take_p90_s": _seconds(percentile(self.take_times, 90)),
            "duration_median_s": _seconds(percentile(self.durations, 50)),
            "ratings": len(self.ratings),
            "rating_average": None if average is None else round(average, 2),
        }


@dataclass
class StaffFigures:
    taken: int = 0
    ratings: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        average = sum(self.ratings) / len(self.ratings) if self.ratings else None
        return {
            "taken": self.taken,
            "ratings": len(self.ratings),
            "rating_average": None if average is None else round(average, 2),
        }


@dataclass
class DepartmentReport:
    department: DepartmentName
    days: dict[dt.date, Figures]
    total: Figures = field(default_factory=Figures)


@dataclass
class Report:
    period: Period
    timezone: str
    department: DepartmentName | None  # the one asked for; None: all
    departments: list[DepartmentReport]
    staff: dict[str, StaffFigures]
    total: Figures

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "timezone": self.timezone,
            "department": self.department.id if self.department else None,
            "total": self.total.as_dict(),
            "departments": [
                {
                    "id": d.department.id,
                    "label": d.department.label,
                    "total": d.total.as_dict(),
                    "days": [
                        {"date": day.isoformat(), **figures.as_dict()}
                        for day, figures in d.days.items()
                    ],
                }
                for d in self.departments
            ],
            "staff": [
                {"user_id": user, **figures.as_dict()} for user, figures in self.staff.items()
            ],
        }

    def as_csv(self) -> str:
        """Two tables, one below the other after an empty line: per department and day, then
        per staff member. Empty cells where there is nothing to count from. A text cell that a
        spreadsheet would take for a formula (a Matrix user id starts with @) gets a leading
        apostrophe."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(DAY_COLUMNS)
        for d in self.departments:
            for day, figures in d.days.items():
                values = figures.as_dict()
                writer.writerow(
                    [_cell(d.department.id), _cell(d.department.label), day.isoformat()]
                    + [_number(values[c]) for c in DAY_COLUMNS[3:]]
                )
        writer.writerow([])
        writer.writerow(STAFF_COLUMNS)
        for user, staff in self.staff.items():
            values = staff.as_dict()
            writer.writerow([_cell(user)] + [_number(values[c]) for c in STAFF_COLUMNS[1:]])
        return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: int | float | None) -> str:
    return "" if value is None else str(value)


def build_report(
    chats: Sequence[ChatFacts],
    period: Period,
    zone: ZoneInfo,
    departments: Sequence[DepartmentName],
    department: DepartmentName | None = None,
) -> Report:
    """The report of these chats (those that started in the period). Every day of the period
    has a row for each department asked for: the one given, else every active department and
    every removed one with chats in the period."""
    known = {d.id: d for d in departments}
    with_chats = {c.department_id for c in chats}
    if department is not None:
        shown = [department]
    else:
        shown = [d for d in departments if d.active or d.id in with_chats]
        shown += [DepartmentName(i, i, False) for i in sorted(with_chats - set(known))]
    days = period.days()
    rows = {d.id: DepartmentReport(d, {day: Figures() for day in days}) for d in shown}
    staff: dict[str, StaffFigures] = {}
    total = Figures()
    for chat in chats:
        row = rows.get(chat.department_id)
        day = dt.datetime.fromtimestamp(chat.created_at / 1000, zone).date()
        if row is None or day not in row.days:
            continue  # another department's, or outside the period
        for figures in (row.days[day], row.total, total):
            figures.add(chat)
        if chat.taker is not None and chat.taken_at is not None:
            person = staff.setdefault(chat.taker, StaffFigures())
            person.taken += 1
            if chat.rating is not None:
                person.ratings.append(chat.rating)
    return Report(
        period,
        zone.key,
        department,
        list(rows.values()),
        dict(sorted(staff.items())),
        total,
    )


class Reports:
    """Reports over the database, in the organisation's time zone (laura.timezone)."""

    def __init__(self, store: ReportStore, timezone: str) -> None:
        self.store = store
        self.zone = ZoneInfo(timezone)

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    async def department(self, text: str) -> DepartmentName | None:
        """A department by its id or its label (either in any case), removed ones too."""
        wanted = text.strip().casefold()
        departments = await self.store.departments()
        by_id = [d for d in departments if d.id.casefold() == wanted]
        by_label = [d for d in departments if d.label.casefold() == wanted]
        found = by_id or by_label
        return found[0] if found else None

    async def report(self, period: Period, department: DepartmentName | None = None) -> Report:
        start, end = period.bounds(self.zone)
        chats = await self.store.chats_between(start, end, department.id if department else None)
        return build_report(chats, period, self.zone, await self.store.departments(), department)

    async def daily(self, days: int, department_id: str) -> list[dict[str, Any]]:
        """The last `days` days (today included) of one department, a row a day: what the
        dashboard draws (the same figures as !rapport)."""
        today = self.today()
        period = Period.between(today - dt.timedelta(days=days - 1), today)
        department = await self.department(department_id)
        report = await self.report(period, department)
        rows = []
        for d in report.departments:
            if department is None or d.department.id != department.id:
                continue
            for day, figures in d.days.items():
                values = figures.as_dict()
                rows.append(
                    {
                        "date": day.isoformat(),
                        "started": figures.started,
                        "taken": figures.taken,
                        "missed": figures.missed,
                        "abandoned": figures.abandoned,
                        "median_take_seconds": values["take_median_s"],
                        "ratings_count": values["ratings"],
                        "rating_average": values["rating_average"],
                    }
                )
        return rows


def clock(seconds: int | None) -> str:
    """45 → "0:45", 125 → "2:05", 3725 → "1:02:05"; None → "–"."""
    if seconds is None:
        return "–"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
