"""Weekly schedules typed in bot commands: days, time spans, holiday dates.

Staff write them in any language Laura has texts in, e.g. ``!availability ma-vr 09:00-17:00``
(their own availability) or ``!hours intake mon-fri 9-17`` (a department's business hours):
the day names and words are the catalogues' (staff texts schedule_*), and Laura describes a
schedule in the staff's language. A ``Week``
maps a weekday (0 = Monday .. 6 = Sunday) to its sorted, non-overlapping windows in minutes
since midnight; everything here is pure: parsing, editing, (de)serialising, describing, and
asking whether a wall-clock moment is inside the schedule.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache

from .texts import STAFF, staff_text

Week = dict[int, list[tuple[int, int]]]

DAY_MINUTES = 1440

_DAY_KEYS = frozenset(str(day) for day in range(7))  # of a week stored as JSON


def _words(text_id: str) -> list[str]:
    """A staff text that lists words (day names: a group a day, groups separated by ;), in
    every language, lower case."""
    return [STAFF[lang][text_id].lower() for lang in STAFF]


@cache
def _day_names() -> dict[str, int]:
    """Every language's names of the weekdays (0 = Monday) that staff may type."""
    names: dict[str, int] = {}
    for groups in _words("schedule_day_names"):
        for day, group in enumerate(groups.split(";")):
            names.update(dict.fromkeys(group.split(), day))
    return names


@cache
def _day_words() -> dict[str, frozenset[int]]:
    """Words for several days at once: every day, the working days, the weekend."""
    return {
        word: days
        for text_id, days in (
            ("schedule_words_all", frozenset(range(7))),
            ("schedule_words_weekdays", frozenset(range(5))),
            ("schedule_words_weekend", frozenset({5, 6})),
        )
        for words in _words(text_id)
        for word in words.split()
    }


@cache
def off_words() -> frozenset[str]:
    """Words for "not on these days" (``!availability za off``)."""
    return frozenset(word for words in _words("schedule_words_off") for word in words.split())


_DASH = re.compile(r"\s*[-–]\s*")
_SPAN = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*[-–]\s*(\d{1,2})(?:[:.](\d{2}))?\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_DAY_FIRST_DATE = re.compile(r"^\s*(\d{1,2})([-/])(\d{1,2})(?:\2(\d{4}))?\s*$")


class ScheduleError(ValueError):
    """Input that is not a schedule; text_id and values say why (a staff text)."""

    def __init__(self, text_id: str, value: str) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values: dict[str, str] = {"value": value[:40]}


def parse_days(text: str) -> frozenset[int]:
    """``"ma-vr"``, ``"mon,wed,fri"``, ``"za-ma"`` (wraps), ``"werkdagen"`` → weekday numbers."""
    days: set[int] = set()
    for part in text.lower().split(","):
        part = part.strip()
        if part in _day_words():
            days |= _day_words()[part]
            continue
        ends = _DASH.split(part)
        names = _day_names()
        if len(ends) > 2 or any(end not in names for end in ends):
            raise ScheduleError("bad_days", text)
        first, last = names[ends[0]], names[ends[-1]]
        days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(days)


def _minute(hours: str, minutes: str | None, text: str) -> int:
    hour, minute = int(hours), int(minutes or 0)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ScheduleError("bad_time", text)
    return hour * 60 + minute


def parse_span(text: str) -> tuple[int, int]:
    """``"09:00-17:00"``, ``"9-17"``, ``"08.30–12"`` → (from, to) in minutes since midnight."""
    match = _SPAN.match(text)
    if not match:
        raise ScheduleError("bad_time", text)
    start = _minute(match.group(1), match.group(2), text)
    end = _minute(match.group(3), match.group(4), text)
    if start == DAY_MINUTES:  # 24:00 only ends a span
        raise ScheduleError("bad_time", text)
    if end <= start:
        raise ScheduleError("bad_span", text)
    return start, end


def _copy(week: Week) -> Week:
    return {day: list(windows) for day, windows in week.items()}


def set_days(week: Week, days: frozenset[int], span: tuple[int, int] | None) -> Week:
    """A new week with ``days`` set to the single window ``span`` (closed when None)."""
    new = _copy(week)
    for day in days:
        if span is None:
            new.pop(day, None)
        else:
            new[day] = [span]
    return new


def add_window(week: Week, days: frozenset[int], span: tuple[int, int]) -> Week:
    """A new week with ``span`` added to ``days``; overlapping or touching windows merge."""
    new = _copy(week)
    for day in days:
        merged: list[tuple[int, int]] = []
        for start, end in sorted([*new.get(day, []), span]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        new[day] = merged
    return new


def edit(week: Week, days_text: str, spans: list[str]) -> Week:
    """What a command says about some days, applied to a week: `<days> <from>-<to> ...` sets
    those days to these windows; `<days> off` frees them. ScheduleError when it cannot."""
    days = parse_days(days_text)
    if len(spans) == 1 and spans[0].lower() in off_words():
        return set_days(week, days, None)
    if not spans:
        raise ScheduleError("bad_time", "")
    parsed = [parse_span(text) for text in spans]
    week = set_days(week, days, parsed[0])
    for span in parsed[1:]:
        week = add_window(week, days, span)
    return week


def is_open(week: Week, when: dt.datetime) -> bool:
    """Whether the wall-clock moment ``when`` (in the organisation's zone) is in a window."""
    minute = when.hour * 60 + when.minute
    return any(start <= minute < end for start, end in week.get(when.weekday(), []))


def next_change(week: Week, when: dt.datetime) -> dt.datetime | None:
    """The first wall-clock moment after ``when`` at which is_open flips; None if it never does.

    Window edges are the only candidates; an edge where nothing flips (a day ending at 24:00
    and the next starting at 00:00) is skipped. Searches 8 days (``when``'s and the 7 after):
    a schedule that flips at all flips within a week.
    """
    state = is_open(week, when)
    for offset in range(8):
        date = when.date() + dt.timedelta(days=offset)
        edges = sorted({edge for window in week.get(date.weekday(), []) for edge in window})
        for edge in edges:
            day, minute = divmod(edge, DAY_MINUTES)  # 24:00 is 00:00 the next day
            moment = dt.datetime.combine(
                date + dt.timedelta(days=day),
                dt.time(minute // 60, minute % 60),
                tzinfo=when.tzinfo,
            )
            if moment > when and is_open(week, moment) != state:
                return moment
    return None


def to_json(week: Week) -> str:
    return json.dumps({str(day): [list(w) for w in week[day]] for day in sorted(week)})


def _windows(value: object) -> list[tuple[int, int]] | None:
    """The windows of one day in stored JSON, or None when they are not valid."""
    if not isinstance(value, list):
        return None
    windows: list[tuple[int, int]] = []
    for item in value:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and all(type(edge) is int for edge in item)
            and 0 <= item[0] < item[1] <= DAY_MINUTES
            and (not windows or windows[-1][1] <= item[0])
        ):
            return None
        windows.append((item[0], item[1]))
    return windows


def from_json(raw: str | None) -> Week | None:
    """The week stored by to_json; None for no schedule at all (None or "")."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ScheduleError("bad_time", raw) from None
    if not isinstance(data, dict):
        raise ScheduleError("bad_time", raw)
    week: Week = {}
    for key, value in data.items():
        windows = _windows(value)
        if key not in _DAY_KEYS or windows is None:
            raise ScheduleError("bad_time", raw)
        week[int(key)] = windows
    return week


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_range(first: int, last: int, lang: str) -> str:
    names = staff_text(lang, "schedule_days_short").split()
    return names[first] if first == last else f"{names[first]}–{names[last]}"


def describe_days(days: frozenset[int], lang: str) -> str:
    """``"ma–vr"``, ``"Mon, Wed"``: runs of consecutive days as ranges."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    if not runs:
        return staff_text(lang, "schedule_no_days")
    return ", ".join(_day_range(first, last, lang) for first, last in runs)


def describe(week: Week | None, lang: str) -> str:
    """``"ma–vr 09:00–17:00; za 10:00–12:00"``; "altijd"/"always" for no schedule (None)."""
    if week is None:
        return staff_text(lang, "schedule_always")
    groups: list[tuple[int, int, list[tuple[int, int]]]] = []
    for day in range(7):
        windows = week.get(day, [])
        if not windows:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == windows:
            groups[-1] = (groups[-1][0], day, windows)
        else:
            groups.append((day, day, windows))
    if not groups:
        return staff_text(lang, "schedule_no_times")
    return "; ".join(
        _day_range(first, last, lang)
        + " "
        + ", ".join(f"{_clock(start)}–{_clock(end)}" for start, end in windows)
        for first, last, windows in groups
    )


def parse_date(text: str, *, year: int, today: dt.date | None = None) -> dt.date:
    """``"2026-12-25"``, ``"25-12-2026"``, ``"25/12/2026"``, or ``"25-12"`` (in ``year``; with
    ``today``, the next such day: ``"1-1"`` typed in December is the coming New Year's Day)."""
    if match := _ISO_DATE.match(text):
        numbers = (match.group(1), match.group(2), match.group(3))
    elif match := _DAY_FIRST_DATE.match(text):
        numbers = (match.group(4) or str(year), match.group(3), match.group(1))
    else:
        raise ScheduleError("bad_date", text)
    try:
        day = dt.date(*(int(number) for number in numbers))
    except ValueError:
        raise ScheduleError("bad_date", text) from None
    short = match.re is _DAY_FIRST_DATE and not match.group(4)
    if short and today is not None and day < today:
        try:
            day = day.replace(year=day.year + 1)
        except ValueError:  # 29 February: the next leap year's
            day = day.replace(year=day.year + 4)
    return day
