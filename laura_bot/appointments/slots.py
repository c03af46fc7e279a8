"""Free slots: when a visitor can book a conversation with an adviser of a department.

Advisers keep a weekly availability, departments have business hours and closed days, and
booked appointments take time away; a slot is offered when at least one adviser is free for
all of it. Schedules speak in the organisation's wall clock, so slots lie on a wall-clock grid
from the start of each availability window (09:00, 09:30, ...), but an appointment is a
moment: each slot is turned into one through the zone, and everything compared (lead time,
horizon, booked appointments) is compared in UTC. On the spring DST day wall times in the
gap are skipped; on the autumn day a wall time that happens twice is offered once, the first
time, so a visitor never sees the same clock time twice. A slot lasts ``slot_minutes`` of real
time, so the one just before the gap ends when the clock jumps.

Pure: the caller reads schedules, closed days and appointments and passes them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..weekly import Week
from .times import occurrences


@dataclass(frozen=True)
class Busy:
    """A booked appointment of one adviser (aware datetimes)."""

    adviser: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Slot:
    """A bookable time (aware, in the organisation's zone) and the advisers free for all of
    it, in the order the advisers were given."""

    start: dt.datetime
    end: dt.datetime
    advisers: tuple[str, ...]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def overlaps(
    a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime
) -> bool:
    """Whether two half-open intervals [start, end) share a moment; touching ends do not.
    Compared in UTC: within one zone Python compares wall times and ignores the fold."""
    return _utc(a_start) < _utc(b_end) and _utc(b_start) < _utc(a_end)


def _merged(windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Windows with touching ones joined, so a slot may run across the seam of 12:00-13:00
    and 13:00-17:00."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(windows: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(low <= start and end <= high for low, high in windows)


def _grid(windows: Sequence[tuple[int, int]], slot_minutes: int) -> list[tuple[int, int]]:
    """The wall-clock (start, end) minutes of the slots that fit in the windows."""
    return [
        (minute, minute + slot_minutes)
        for low, high in _merged(windows)
        for minute in range(low, high - slot_minutes + 1, slot_minutes)
    ]


def _moment(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime | None:
    """The first moment the clock shows ``minute`` past midnight on ``day``; None in a gap."""
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    found = occurrences(wall, tz)
    return found[0] if found else None


def free_slots(
    *,
    advisers: Mapping[str, Week],
    hours: Week | None,
    closed_days: set[dt.date],
    busy: Sequence[Busy],
    tz: ZoneInfo,
    now: dt.datetime,
    slot_minutes: int,
    lead_minutes: int,
    horizon_days: int,
    limit: int = 200,
) -> list[Slot]:
    """The slots, earliest first and at most ``limit``, in which an adviser is available (their
    week), the department open (``hours``; None is always) on a day that is not closed, that
    start at least ``lead_minutes`` after ``now`` (aware) and before ``horizon_days`` after
    it, and that no booked appointment of that adviser overlaps."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if slot_minutes <= 0:
        raise ValueError("slot_minutes must be positive")
    earliest = _utc(now) + dt.timedelta(minutes=lead_minutes)
    latest = _utc(now) + dt.timedelta(days=horizon_days)
    length = dt.timedelta(minutes=slot_minutes)
    booked: dict[str, list[Busy]] = {name: [] for name in advisers}
    for item in busy:
        # Only what can touch a slot: from the earliest start to the end of the latest.
        if item.adviser in booked and overlaps(item.start, item.end, earliest, latest + length):
            booked[item.adviser].append(item)
    slots: list[Slot] = []
    day = now.astimezone(tz).date()
    last_day = latest.astimezone(tz).date()
    while day <= last_day and len(slots) < limit:
        if day not in closed_days:
            slots.extend(_day_slots(day, advisers, hours, booked, tz, length, earliest, latest))
        day += dt.timedelta(days=1)
    return slots[: max(limit, 0)]


def _day_slots(
    day: dt.date,
    advisers: Mapping[str, Week],
    hours: Week | None,
    booked: Mapping[str, Sequence[Busy]],
    tz: ZoneInfo,
    length: dt.timedelta,
    earliest: dt.datetime,
    latest: dt.datetime,
) -> list[Slot]:
    """One local day's slots, earliest first (lead time and horizon as UTC moments)."""
    slot_minutes = int(length.total_seconds()) // 60
    open_hours = None if hours is None else _merged(hours.get(day.weekday(), []))
    free: dict[dt.datetime, list[str]] = {}  # UTC start → advisers free for the slot
    for name, week in advisers.items():
        for start_minute, end_minute in _grid(week.get(day.weekday(), []), slot_minutes):
            if open_hours is not None and not _inside(open_hours, start_minute, end_minute):
                continue
            start = _moment(day, start_minute, tz)
            if start is None:  # the spring gap: this wall time never happens
                continue
            start = _utc(start)
            if not earliest <= start < latest:
                continue
            if any(overlaps(start, start + length, b.start, b.end) for b in booked[name]):
                continue
            names = free.setdefault(start, [])
            if name not in names:
                names.append(name)
    return [
        Slot(start.astimezone(tz), (start + length).astimezone(tz), tuple(free[start]))
        for start in sorted(free)
    ]
