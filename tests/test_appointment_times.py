"""Unit tests for laura_bot.appointments.times and .slots: typed appointment times (with the
DST gap and fold of Europe/Amsterdam), durations, dates, how a time is shown, and the free
slots a visitor can book."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from laura_bot.appointments.slots import Busy, Slot, free_slots, overlaps
from laura_bot.appointments.times import (
    TimeProblem,
    format_when,
    local_start,
    occurrences,
    parse_clock,
    parse_minutes,
    parse_when,
)
from laura_bot.weekly import Week

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC
SPRING = dt.date(2026, 3, 29)  # 02:00 CET → 03:00 CEST: 02:00-02:59 never happen
AUTUMN = dt.date(2026, 10, 25)  # 03:00 CEST → 02:00 CET: 02:00-02:59 happen twice
MORNINGS: Week = {day: [(9 * 60, 12 * 60)] for day in range(5)}


def problem(text_id: str) -> pytest.RaisesExc[TimeProblem]:
    return pytest.raises(TimeProblem, match=f"^{text_id}$")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


# --- parse_clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("14:30", (14, 30, None)),
        ("9:05", (9, 5, None)),
        ("14.30", (14, 30, None)),
        (" 00:00 ", (0, 0, None)),
        ("23:59", (23, 59, None)),
        ("02:30+02:00", (2, 30, 120)),
        ("02:30+01:00", (2, 30, 60)),
        ("02:30+0100", (2, 30, 60)),
        ("02:30+1", (2, 30, 60)),
        ("10:00-05:00", (10, 0, -300)),
        ("10:00+05:45", (10, 0, 345)),
    ],
)
def test_clock(text: str, clock: tuple[int, int, int | None]) -> None:
    assert parse_clock(text) == clock


@pytest.mark.parametrize(
    "text",
    ["25:00", "14:60", "abc", "24:00", "14", "14:5", "", "14:30:00", "02:30+15:00", "2:30+01:60"],
)
def test_bad_clock(text: str) -> None:
    with problem("appointment_bad_time") as caught:
        parse_clock(text)
    assert caught.value.values == {"time": text}


def test_a_problem_is_a_value_error_and_echoes_little() -> None:
    error = TimeProblem("appointment_bad_time", time="9" * 100)
    assert isinstance(error, ValueError)
    assert error.text_id == "appointment_bad_time"
    assert error.values == {"time": "9" * 40}


# --- parse_minutes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("45", 45),
        ("1h", 60),
        ("1h30", 90),
        ("1h30m", 90),
        ("90m", 90),
        ("90min", 90),
        ("1u30", 90),
        ("2H", 120),
        ("5", 5),
        ("12h", 720),
    ],
)
def test_duration(text: str, minutes: int) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["4", "0", "721", "13h", "12h1", "1h60", "abc", "", "-5", "1.5h"])
def test_bad_duration(text: str) -> None:
    with problem("appointment_bad_duration") as caught:
        parse_minutes(text)
    assert caught.value.values == {"duration": text}


# --- local_start: the zone decides which wall times exist -------------------------------------


def test_occurrences() -> None:
    assert occurrences(dt.datetime(2026, 3, 29, 2, 30), AMS) == ()
    assert [o.astimezone(UTC) for o in occurrences(dt.datetime(2026, 10, 25, 2, 30), AMS)] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
    ]
    assert len(occurrences(dt.datetime(2026, 10, 25, 3, 0), AMS)) == 1
    assert len(occurrences(dt.datetime(2026, 10, 25, 1, 59), AMS)) == 1
    assert len(occurrences(dt.datetime(2026, 12, 24, 14, 30), AMS)) == 1


@pytest.mark.parametrize("clock", ["02:30", "02:00", "02:59", "02:30+01:00", "02:30+02:00"])
def test_a_time_in_the_spring_gap_is_refused(clock: str) -> None:
    with problem("appointment_time_gap") as caught:
        local_start(SPRING, clock, AMS)
    assert caught.value.values == {"time": clock[:5], "date": "29-03-2026"}


def test_the_edges_of_the_spring_gap_exist() -> None:
    assert local_start(SPRING, "01:59", AMS).astimezone(UTC) == utc(2026, 3, 29, 0, 59)
    assert local_start(SPRING, "03:00", AMS).astimezone(UTC) == utc(2026, 3, 29, 1, 0)


def test_a_time_in_the_autumn_fold_is_asked() -> None:
    with problem("appointment_time_ambiguous") as caught:
        local_start(AUTUMN, "02:30", AMS)
    assert caught.value.values == {
        "time": "02:30",
        "date": "25-10-2026",
        "first": "02:30+02:00",
        "second": "02:30+01:00",
    }


def test_the_offset_answers_the_question() -> None:
    first = local_start(AUTUMN, "02:30+02:00", AMS)
    second = local_start(AUTUMN, "02:30+01:00", AMS)
    assert first.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert second.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    assert (first.fold, second.fold) == (0, 1)
    assert first.tzinfo is AMS and second.tzinfo is AMS
    with problem("appointment_bad_time"):
        local_start(AUTUMN, "02:30+03:00", AMS)


def test_ordinary_times() -> None:
    winter = local_start(dt.date(2026, 12, 24), "14:30", AMS)
    assert winter == ams(2026, 12, 24, 14, 30)
    assert winter.astimezone(UTC) == utc(2026, 12, 24, 13, 30)
    assert local_start(dt.date(2026, 7, 1), "9.05", AMS).astimezone(UTC) == utc(2026, 7, 1, 7, 5)
    # An offset may be given when it is the zone's; a wrong one is refused.
    assert local_start(dt.date(2026, 12, 24), "14:30+01:00", AMS) == winter
    with problem("appointment_bad_time"):
        local_start(dt.date(2026, 12, 24), "14:30+02:00", AMS)
    with problem("appointment_bad_time"):
        local_start(dt.date(2026, 12, 24), "25:00", AMS)


# --- parse_when -------------------------------------------------------------------------------

NOW = utc(2026, 6, 1, 12, 0)


@pytest.mark.parametrize("date_text", ["2026-12-24", "24-12-2026", "24/12/2026", "24-12"])
def test_dates_in_every_form(date_text: str) -> None:
    assert parse_when(date_text, "14:30", AMS, NOW) == ams(2026, 12, 24, 14, 30)


def test_a_date_without_year_is_the_next_one_in_the_local_zone() -> None:
    assert parse_when("1-1", "10:00", AMS, utc(2026, 12, 1)) == ams(2027, 1, 1, 10, 0)
    # 23:30 UTC on 31 December is already New Year's Day in Amsterdam: today, not next year.
    assert parse_when("1-1", "10:00", AMS, utc(2026, 12, 31, 23, 30)) == ams(2027, 1, 1, 10)


@pytest.mark.parametrize("date_text", ["31-02-2026", "abc", "2026-13-01", ""])
def test_bad_date(date_text: str) -> None:
    with problem("appointment_bad_date") as caught:
        parse_when(date_text, "14:30", AMS, NOW)
    assert caught.value.values == {"date": date_text}


def test_the_past_is_refused_and_the_zone_problems_pass_through() -> None:
    with problem("appointment_in_past") as caught:
        parse_when("1-6-2026", "13:59", AMS, NOW)  # 11:59 UTC
    assert caught.value.values == {"date": "01-06-2026", "time": "13:59"}
    assert parse_when("1-6-2026", "14:00", AMS, NOW) == NOW
    with problem("appointment_time_gap"):
        parse_when("29-03-2026", "02:30", AMS, utc(2026, 1, 1))
    with problem("appointment_time_ambiguous"):
        parse_when("25-10", "02:30", AMS, NOW)
    # In the fold the second 02:30 is still ahead at 01:00 UTC, the first one is past.
    fold_now = utc(2026, 10, 25, 1, 0)
    assert parse_when("25-10", "02:30+01:00", AMS, fold_now).fold == 1
    with problem("appointment_in_past"):
        parse_when("25-10", "02:30+02:00", AMS, fold_now)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("24-12-2026", "14:30", AMS, dt.datetime(2026, 6, 1))


# --- format_when ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "do 24-12-2026 14:30"),
        ("en", "Thu 24-12-2026 14:30"),
        ("pl", "czw 24-12-2026 14:30"),
    ],
)
def test_format_when(lang: str, text: str) -> None:
    assert format_when(utc(2026, 12, 24, 13, 30), AMS, lang) == text


def test_format_when_names_the_offset_only_in_the_fold() -> None:
    assert format_when(utc(2026, 10, 25, 0, 30), AMS, "en") == "Sun 25-10-2026 02:30+02:00"
    assert format_when(utc(2026, 10, 25, 1, 30), AMS, "en") == "Sun 25-10-2026 02:30+01:00"
    assert format_when(utc(2026, 10, 25, 2, 30), AMS, "nl") == "zo 25-10-2026 03:30"
    # What Laura shows is what staff can type back.
    shown = format_when(utc(2026, 10, 25, 1, 30), AMS, "en").split()
    assert local_start(AUTUMN, shown[2], AMS).astimezone(UTC) == utc(2026, 10, 25, 1, 30)


# --- overlaps ---------------------------------------------------------------------------------


def test_overlaps_half_open() -> None:
    nine, ten, eleven = ams(2026, 1, 5, 9), ams(2026, 1, 5, 10), ams(2026, 1, 5, 11)
    assert overlaps(nine, eleven, ten, eleven)
    assert overlaps(nine, eleven, ams(2026, 1, 5, 9, 30), ten)
    assert not overlaps(nine, ten, ten, eleven)  # touching
    assert not overlaps(ten, eleven, nine, ten)
    assert overlaps(nine, ten, utc(2026, 1, 5, 8, 59), utc(2026, 1, 5, 9, 1))  # other zone
    # In the fold one zone's wall times mislead: the second 02:30-03:00 (01:30-02:00 UTC)
    # does not overlap the first 02:00-02:45 (00:00-00:45 UTC), though the clocks say so.
    second = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=AMS)
    three = dt.datetime(2026, 10, 25, 3, 0, tzinfo=AMS)
    two, quarter_to_three = ams(2026, 10, 25, 2, 0), ams(2026, 10, 25, 2, 45)
    assert not overlaps(second, three, two, quarter_to_three)
    assert not overlaps(two, quarter_to_three, second, three)


# --- free_slots -------------------------------------------------------------------------------

SUNDAY = utc(2026, 1, 4, 12, 0)  # Monday 2026-01-05 is the next working day


def slots(**overrides: object) -> list[Slot]:
    args: dict[str, object] = {
        "advisers": {"anna": MORNINGS},
        "hours": None,
        "closed_days": set(),
        "busy": [],
        "tz": AMS,
        "now": SUNDAY,
        "slot_minutes": 30,
        "lead_minutes": 0,
        "horizon_days": 1,
    }
    return free_slots(**(args | overrides))  # type: ignore[arg-type]


def clocks(found: list[Slot]) -> list[str]:
    return [f"{s.start:%d %H:%M}-{s.end:%H:%M}" for s in found]


def test_the_grid_starts_at_each_window() -> None:
    found = slots()
    assert clocks(found) == [
        "05 09:00-09:30",
        "05 09:30-10:00",
        "05 10:00-10:30",
        "05 10:30-11:00",
        "05 11:00-11:30",
        "05 11:30-12:00",
    ]
    assert all(s.advisers == ("anna",) and s.start.tzinfo is AMS for s in found)
    assert found[0].start.astimezone(UTC) == utc(2026, 1, 5, 8, 0)
    odd: Week = {0: [(9 * 60 + 15, 10 * 60 + 30), (14 * 60, 15 * 60)]}
    assert clocks(slots(advisers={"anna": odd}, horizon_days=2)) == [
        "05 09:15-09:45",
        "05 09:45-10:15",
        "05 14:00-14:30",
        "05 14:30-15:00",
    ]
    assert clocks(slots(advisers={"anna": odd}, horizon_days=2, slot_minutes=45)) == [
        "05 09:15-10:00",
        "05 14:00-14:45",
    ]


def test_slots_of_several_advisers_are_merged_and_sorted() -> None:
    bram: Week = {0: [(9 * 60 + 15, 10 * 60 + 15)]}
    anna: Week = {0: [(9 * 60, 10 * 60)]}
    found = slots(advisers={"bram": bram, "anna": anna})
    assert [(f"{s.start:%H:%M}", s.advisers) for s in found] == [
        ("09:00", ("anna",)),
        ("09:15", ("bram",)),
        ("09:30", ("anna",)),
        ("09:45", ("bram",)),
    ]
    both = slots(advisers={"bram": MORNINGS, "anna": MORNINGS})
    assert all(s.advisers == ("bram", "anna") for s in both)  # in the order given


def test_lead_time() -> None:
    monday = ams(2026, 1, 5, 9, 10)
    assert clocks(slots(now=monday, lead_minutes=60))[0] == "05 10:30-11:00"
    assert clocks(slots(now=monday, lead_minutes=50))[0] == "05 10:00-10:30"  # on the dot
    assert clocks(slots(now=monday))[0] == "05 09:30-10:00"  # a started slot is gone


def test_horizon() -> None:
    monday = ams(2026, 1, 5, 8, 0)
    assert {s.start.day for s in slots(now=monday, horizon_days=1)} == {5}
    three_days = slots(now=monday, horizon_days=3)
    assert {s.start.day for s in three_days} == {5, 6, 7}
    # The horizon ends at the moment three days after now: Thursday 08:00 has no slots yet.
    assert clocks(slots(now=ams(2026, 1, 5, 10, 0), horizon_days=3))[-1] == "08 09:30-10:00"
    assert slots(horizon_days=0) == []


def test_closed_day() -> None:
    found = slots(closed_days={dt.date(2026, 1, 5)}, horizon_days=2)
    assert {s.start.day for s in found} == {6}


def test_business_hours_cut_the_windows() -> None:
    hours: Week = {0: [(10 * 60, 11 * 60 + 15)]}
    assert clocks(slots(hours=hours)) == ["05 10:00-10:30", "05 10:30-11:00"]
    assert slots(hours={1: [(0, 1440)]}) == []  # the department is closed on Mondays
    seam: Week = {0: [(9 * 60, 10 * 60 + 15), (10 * 60 + 15, 12 * 60)]}  # touching windows
    assert len(slots(hours=seam)) == 6


def test_a_busy_adviser_is_left_out_and_the_other_stays() -> None:
    busy = [Busy("anna", ams(2026, 1, 5, 10), ams(2026, 1, 5, 11))]
    found = slots(advisers={"anna": MORNINGS, "bram": MORNINGS}, busy=busy)
    assert [(f"{s.start:%H:%M}", s.advisers) for s in found] == [
        ("09:00", ("anna", "bram")),
        ("09:30", ("anna", "bram")),
        ("10:00", ("bram",)),
        ("10:30", ("bram",)),
        ("11:00", ("anna", "bram")),
        ("11:30", ("anna", "bram")),
    ]
    # Alone, anna loses those slots; a partial overlap takes both slots it touches.
    assert len(slots(busy=busy)) == 4
    partly = [Busy("anna", ams(2026, 1, 5, 9, 45), ams(2026, 1, 5, 10, 15))]
    assert "05 09:30-10:00" not in clocks(slots(busy=partly))
    assert "05 10:00-10:30" not in clocks(slots(busy=partly))
    # Someone else's appointment does not matter.
    assert len(slots(busy=[Busy("carla", ams(2026, 1, 5, 9), ams(2026, 1, 5, 12))])) == 6


def test_a_touching_appointment_is_allowed() -> None:
    # Given in UTC: 09:30-10:00 in Amsterdam.
    busy = [Busy("anna", utc(2026, 1, 5, 8, 30), utc(2026, 1, 5, 9, 0))]
    assert clocks(slots(busy=busy)) == [
        "05 09:00-09:30",
        "05 10:00-10:30",
        "05 10:30-11:00",
        "05 11:00-11:30",
        "05 11:30-12:00",
    ]


NIGHT: Week = {6: [(0, 5 * 60)]}  # Sundays 00:00-05:00


def test_the_spring_change_keeps_the_moments_right() -> None:
    found = slots(advisers={"anna": NIGHT}, now=utc(2026, 3, 28, 12), horizon_days=2)
    assert [f"{s.start:%H:%M}" for s in found] == [
        "00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30"
    ]  # fmt: skip
    starts = [s.start.astimezone(UTC) for s in found]
    assert starts == [utc(2026, 3, 28, 23) + dt.timedelta(minutes=30 * i) for i in range(8)]
    # Every slot lasts 30 real minutes; the one before the gap ends when the clock jumps.
    lengths = {s.end.astimezone(UTC) - s.start.astimezone(UTC) for s in found}
    assert lengths == {dt.timedelta(minutes=30)}
    assert f"{found[3].end:%H:%M}" == "03:00"


def test_the_autumn_change_lists_each_wall_time_once() -> None:
    found = slots(advisers={"anna": NIGHT}, now=utc(2026, 10, 24, 12), horizon_days=2)
    walls = [f"{s.start:%H:%M}" for s in found]
    assert walls == [f"{h:02d}:{m:02d}" for h in range(5) for m in (0, 30)]
    assert found[5].start.astimezone(UTC) == utc(2026, 10, 25, 0, 30)  # the first 02:30
    assert found[6].start.astimezone(UTC) == utc(2026, 10, 25, 2, 0)  # 03:00 CET
    # A booking in the second 02:30 does not take the first one.
    busy = [Busy("anna", utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 0))]
    again = slots(advisers={"anna": NIGHT}, now=utc(2026, 10, 24, 12), horizon_days=2, busy=busy)
    assert again == found


def test_limit() -> None:
    assert clocks(slots(limit=2)) == ["05 09:00-09:30", "05 09:30-10:00"]
    many = slots(horizon_days=30, limit=15)
    assert len(many) == 15
    assert many == slots(horizon_days=30)[:15]
    assert slots(limit=0) == []
    assert len(slots(horizon_days=30)) == 6 * 22  # the working days of 5 Jan .. 3 Feb 12:00


def test_free_slots_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        slots(now=dt.datetime(2026, 1, 4, 12))
