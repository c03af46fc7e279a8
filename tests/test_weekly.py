"""Unit tests for laura_bot.weekly: parsing, editing, open/closed, JSON and descriptions."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from laura_bot import weekly
from laura_bot.weekly import (
    ScheduleError,
    Week,
    add_window,
    describe,
    describe_days,
    from_json,
    is_open,
    next_change,
    parse_date,
    parse_days,
    parse_span,
    set_days,
    to_json,
)

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC
WORKDAYS = frozenset(range(5))
ALL = frozenset(range(7))
NINE_TO_FIVE = (9 * 60, 17 * 60)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A wall-clock moment in Amsterdam in January 2026 (no DST): 5 = Monday .. 11 = Sunday."""
    return dt.datetime(2026, 1, day, hour, minute, second, tzinfo=AMS)


def refused(text_id: str) -> pytest.RaisesExc[ScheduleError]:
    return pytest.raises(ScheduleError, match=f"^{text_id}$")


# --- parse_days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("ma", {0}),
        ("di", {1}),
        ("wo", {2}),
        ("do", {3}),
        ("vr", {4}),
        ("za", {5}),
        ("zo", {6}),
        ("maandag", {0}),
        ("dinsdag", {1}),
        ("woensdag", {2}),
        ("donderdag", {3}),
        ("vrijdag", {4}),
        ("zaterdag", {5}),
        ("zondag", {6}),
        ("mon", {0}),
        ("tue", {1}),
        ("wed", {2}),
        ("thu", {3}),
        ("fri", {4}),
        ("sat", {5}),
        ("sun", {6}),
        ("monday", {0}),
        ("tuesday", {1}),
        ("wednesday", {2}),
        ("thursday", {3}),
        ("friday", {4}),
        ("saturday", {5}),
        ("sunday", {6}),
        ("mo", {0}),
        ("tu", {1}),
        ("we", {2}),
        ("th", {3}),
        ("fr", {4}),
        ("sa", {5}),
        ("su", {6}),
        ("MA", {0}),
        ("Maandag", {0}),
        ("  Mon  ", {0}),
        ("ma-vr", {0, 1, 2, 3, 4}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("Monday-Wednesday", {0, 1, 2}),
        ("maandag-woensdag", {0, 1, 2}),
        ("ma - vr", {0, 1, 2, 3, 4}),
        ("ma–vr", {0, 1, 2, 3, 4}),
        ("wo-wo", {2}),
        ("za-ma", {5, 6, 0}),
        ("fri-tue", {4, 5, 6, 0, 1}),
        ("zo-za", {6, 0, 1, 2, 3, 4, 5}),
        ("ma,wo,vr", {0, 2, 4}),
        ("ma, wo, vr", {0, 2, 4}),
        ("ma-wo,vr", {0, 1, 2, 4}),
        ("mon,mon", {0}),
        ("ma,mon", {0}),
        ("alle", set(range(7))),
        ("all", set(range(7))),
        ("dagelijks", set(range(7))),
        ("Daily", set(range(7))),
        ("werkdagen", {0, 1, 2, 3, 4}),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekend", {5, 6}),
        ("WEEKEND", {5, 6}),
        ("weekend,ma", {5, 6, 0}),
    ],
)
def test_parse_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "maa",
        "x",
        "ma vr",
        "ma-",
        "-vr",
        "ma--vr",
        "ma-wo-vr",
        "ma,,vr",
        "ma,",
        ",ma",
        "mon;tue",
        "alle-vr",
        "weekend-ma",
        "monday1",
        "9-17",
    ],
)
def test_parse_days_refuses(text: str) -> None:
    with refused("bad_days") as caught:
        parse_days(text)
    assert caught.value.text_id == "bad_days"
    assert caught.value.values == {"value": text}


# --- parse_span -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("09:00-17:00", (540, 1020)),
        ("9-17", (540, 1020)),
        ("9:30-12", (570, 720)),
        ("08.30-12.00", (510, 720)),
        ("08:30–12:00", (510, 720)),
        ("9–17", (540, 1020)),
        (" 9 - 17 ", (540, 1020)),
        ("0-24", (0, 1440)),
        ("00:00-24:00", (0, 1440)),
        ("23:59-24:00", (1439, 1440)),
        ("0:00-0:01", (0, 1)),
        ("12:15-12:45", (735, 765)),
        ("9.05-9.10", (545, 550)),
    ],
)
def test_parse_span(text: str, span: tuple[int, int]) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize(
    "text",
    [
        "",
        "9",
        "9-",
        "-17",
        "nine-five",
        "9:0-17",
        "9:000-17",
        "9:60-17",
        "9-17:60",
        "25-26",
        "9-25",
        "24:30-24:45",
        "9-24:01",
        "24-24",
        "24:00-24:00",
        "9 17",
        "9-17-18",
        "9:00:00-17:00",
        "123-130",
        "9h-17h",
    ],
)
def test_parse_span_bad_time(text: str) -> None:
    with refused("bad_time") as caught:
        parse_span(text)
    assert caught.value.values == {"value": text}


@pytest.mark.parametrize("text", ["17-9", "9-9", "22:00-02:00", "12:30-12:30", "12:31-12:30"])
def test_parse_span_bad_span(text: str) -> None:
    with refused("bad_span") as caught:
        parse_span(text)
    assert caught.value.values == {"value": text}


# --- ScheduleError ----------------------------------------------------------------------------


def test_schedule_error_is_a_value_error_with_truncated_value() -> None:
    error = ScheduleError("bad_days", "x" * 100)
    assert isinstance(error, ValueError)
    assert error.text_id == "bad_days"
    assert error.values == {"value": "x" * 40}


def test_schedule_error_from_parser_truncates_value() -> None:
    with refused("bad_days") as caught:
        parse_days("maandag" * 20)
    assert caught.value.values == {"value": ("maandag" * 20)[:40]}


# --- set_days / add_window --------------------------------------------------------------------


def test_set_days_replaces_the_given_days_only() -> None:
    week: Week = {0: [(480, 600), (700, 800)], 5: [(600, 720)]}
    new = set_days(week, frozenset({0, 1}), NINE_TO_FIVE)
    assert new == {0: [NINE_TO_FIVE], 1: [NINE_TO_FIVE], 5: [(600, 720)]}
    assert week == {0: [(480, 600), (700, 800)], 5: [(600, 720)]}


def test_set_days_none_removes_the_days() -> None:
    week: Week = {0: [NINE_TO_FIVE], 1: [NINE_TO_FIVE], 2: [NINE_TO_FIVE]}
    assert set_days(week, frozenset({0, 2, 6}), None) == {1: [NINE_TO_FIVE]}
    assert len(week) == 3


def test_set_days_returns_a_new_week_with_its_own_lists() -> None:
    week: Week = {3: [NINE_TO_FIVE]}
    new = set_days(week, frozenset({0}), (0, 60))
    assert new is not week
    new[3].append((1100, 1200))
    assert week == {3: [NINE_TO_FIVE]}


def test_set_days_with_no_days_copies() -> None:
    week: Week = {3: [NINE_TO_FIVE]}
    assert set_days(week, frozenset(), None) == week


@pytest.mark.parametrize(
    ("windows", "span", "merged"),
    [
        ([], (540, 600), [(540, 600)]),
        ([(540, 600)], (700, 800), [(540, 600), (700, 800)]),
        ([(700, 800)], (540, 600), [(540, 600), (700, 800)]),
        ([(540, 600)], (570, 700), [(540, 700)]),
        ([(570, 700)], (540, 600), [(540, 700)]),
        ([(540, 600)], (600, 660), [(540, 660)]),
        ([(600, 660)], (540, 600), [(540, 660)]),
        ([(540, 1020)], (600, 660), [(540, 1020)]),
        ([(600, 660)], (540, 1020), [(540, 1020)]),
        ([(540, 600), (700, 800)], (590, 710), [(540, 800)]),
        ([(540, 600), (700, 800), (900, 1000)], (600, 900), [(540, 1000)]),
        (
            [(0, 60), (540, 600), (1380, 1440)],
            (1200, 1300),
            [(0, 60), (540, 600), (1200, 1300), (1380, 1440)],
        ),
        ([(540, 600)], (540, 600), [(540, 600)]),
        ([(1380, 1440)], (1300, 1440), [(1300, 1440)]),
    ],
)
def test_add_window_merges(
    windows: list[tuple[int, int]], span: tuple[int, int], merged: list[tuple[int, int]]
) -> None:
    week: Week = {2: list(windows)} if windows else {}
    assert add_window(week, frozenset({2}), span) == {2: merged}
    assert week == ({2: windows} if windows else {})


def test_add_window_to_several_days_keeps_other_days() -> None:
    week: Week = {0: [(480, 540)], 1: [(1000, 1100)], 6: [(600, 700)]}
    new = add_window(week, frozenset({0, 1, 2}), NINE_TO_FIVE)
    assert new == {
        0: [(480, 1020)],
        1: [(540, 1100)],
        2: [NINE_TO_FIVE],
        6: [(600, 700)],
    }
    assert week == {0: [(480, 540)], 1: [(1000, 1100)], 6: [(600, 700)]}


def test_add_window_parsed_input() -> None:
    week = set_days({}, parse_days("ma-vr"), parse_span("9-12"))
    week = add_window(week, parse_days("ma,wo"), parse_span("13:00-17:00"))
    week = add_window(week, parse_days("ma"), parse_span("11:30-13:30"))
    assert week == {
        0: [(540, 1020)],
        1: [(540, 720)],
        2: [(540, 720), (780, 1020)],
        3: [(540, 720)],
        4: [(540, 720)],
    }


# --- is_open ----------------------------------------------------------------------------------


def test_at_helper_weekdays() -> None:
    assert at(5).weekday() == 0
    assert at(11).weekday() == 6


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(5, 8, 59, 59), False),
        (at(5, 9, 0), True),
        (at(5, 12, 0), True),
        (at(5, 16, 59, 59), True),
        (at(5, 17, 0), False),
        (at(5, 23, 59), False),
        (at(10, 12, 0), False),  # Saturday: no windows
        (at(9, 9, 0), True),  # Friday
    ],
)
def test_is_open_edges(when: dt.datetime, expected: bool) -> None:
    week = set_days({}, WORKDAYS, NINE_TO_FIVE)
    assert is_open(week, when) is expected


def test_is_open_window_to_midnight_includes_last_minute() -> None:
    week: Week = {0: [(1200, 1440)]}
    assert is_open(week, at(5, 23, 59, 59))
    assert is_open(week, at(5, 20, 0))
    assert not is_open(week, at(5, 19, 59))
    assert not is_open(week, at(6, 0, 0))  # Tuesday 00:00 belongs to Tuesday


def test_is_open_window_from_midnight() -> None:
    week: Week = {1: [(0, 60)]}
    assert is_open(week, at(6, 0, 0))
    assert not is_open(week, at(5, 23, 59))
    assert not is_open(week, at(6, 1, 0))


def test_is_open_several_windows_and_empty_days() -> None:
    week: Week = {0: [(540, 720), (780, 1020)], 1: []}
    assert is_open(week, at(5, 11, 59))
    assert not is_open(week, at(5, 12, 0))
    assert not is_open(week, at(5, 12, 59))
    assert is_open(week, at(5, 13, 0))
    assert not is_open(week, at(6, 10, 0))
    assert not is_open({}, at(5, 10, 0))


def test_is_open_dst_is_wall_clock() -> None:
    week = set_days({}, ALL, NINE_TO_FIVE)
    # Sunday 2026-03-29, clocks go 02:00 → 03:00: 07:00 UTC is 09:00 local.
    assert not is_open(week, dt.datetime(2026, 3, 29, 6, 59, tzinfo=UTC).astimezone(AMS))
    assert is_open(week, dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC).astimezone(AMS))
    assert is_open(week, dt.datetime(2026, 3, 29, 14, 59, tzinfo=UTC).astimezone(AMS))
    assert not is_open(week, dt.datetime(2026, 3, 29, 15, 0, tzinfo=UTC).astimezone(AMS))
    # The day before it was 08:00 UTC.
    assert not is_open(week, dt.datetime(2026, 3, 28, 7, 30, tzinfo=UTC).astimezone(AMS))
    assert is_open(week, dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC).astimezone(AMS))
    # Sunday 2026-10-25, clocks go 03:00 → 02:00: 08:00 UTC is 09:00 local.
    assert not is_open(week, dt.datetime(2026, 10, 25, 7, 59, tzinfo=UTC).astimezone(AMS))
    assert is_open(week, dt.datetime(2026, 10, 25, 8, 0, tzinfo=UTC).astimezone(AMS))


def test_is_open_in_the_repeated_hour() -> None:
    week: Week = {6: [(120, 180)]}  # Sunday 02:00-03:00, twice on 2026-10-25
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC).astimezone(AMS)
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC).astimezone(AMS)
    assert (first.hour, first.fold, second.hour, second.fold) == (2, 0, 2, 1)
    assert is_open(week, first)
    assert is_open(week, second)
    assert not is_open(week, dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC).astimezone(AMS))


# --- next_change ------------------------------------------------------------------------------


def test_next_change_within_a_day() -> None:
    week = set_days({}, WORKDAYS, NINE_TO_FIVE)
    assert next_change(week, at(5, 8, 0)) == at(5, 9, 0)
    assert next_change(week, at(5, 9, 0)) == at(5, 17, 0)
    assert next_change(week, at(5, 9, 0, 30)) == at(5, 17, 0)
    assert next_change(week, at(5, 16, 59, 59)) == at(5, 17, 0)


def test_next_change_across_midnight() -> None:
    week = set_days({}, WORKDAYS, NINE_TO_FIVE)
    assert next_change(week, at(5, 17, 0)) == at(6, 9, 0)
    assert next_change(week, at(5, 23, 59)) == at(6, 9, 0)
    assert next_change(week, at(9, 17, 0)) == at(12, 9, 0)  # Friday evening → Monday


def test_next_change_window_ending_at_midnight() -> None:
    week: Week = {2: [(1200, 1440)]}
    assert next_change(week, at(7, 21, 0)) == at(8, 0, 0)
    assert next_change(week, at(7, 19, 0)) == at(7, 20, 0)


def test_next_change_across_the_week_wrap() -> None:
    week: Week = {0: [NINE_TO_FIVE]}  # Mondays only
    assert next_change(week, at(5, 17, 0)) == at(12, 9, 0)
    assert next_change(week, at(11, 23, 0)) == at(12, 9, 0)
    assert next_change(week, at(5, 8, 59)) == at(5, 9, 0)
    sunday_night: Week = {6: [(1320, 1440)], 0: [(0, 120)]}
    assert next_change(sunday_night, at(11, 23, 0)) == at(12, 2, 0)
    assert next_change(sunday_night, at(5, 1, 0)) == at(5, 2, 0)
    assert next_change(sunday_night, at(5, 2, 0)) == at(11, 22, 0)


def test_next_change_ignores_touching_midnight() -> None:
    week: Week = {0: [(0, 1440)], 1: [(0, 600)]}
    assert next_change(week, at(5, 12, 0)) == at(6, 10, 0)
    assert next_change(week, at(5, 0, 0)) == at(6, 10, 0)
    assert next_change(week, at(6, 10, 0)) == at(12, 0, 0)


def test_next_change_ignores_touching_windows_in_a_day() -> None:
    week: Week = {0: [(540, 720), (720, 1020)]}
    assert next_change(week, at(5, 10, 0)) == at(5, 17, 0)


def test_next_change_all_but_one_hour_spans_a_week() -> None:
    week = set_days({}, ALL, (0, 1440))
    week[0] = [(60, 1440)]  # closed Monday 00:00-01:00 only
    assert next_change(week, at(5, 1, 0)) == at(12, 0, 0)
    assert next_change(week, at(5, 0, 30)) == at(5, 1, 0)
    assert next_change(week, at(11, 23, 59)) == at(12, 0, 0)


def test_next_change_never() -> None:
    assert next_change({}, at(5, 12, 0)) is None
    assert next_change({0: [], 3: []}, at(5, 12, 0)) is None
    always = set_days({}, ALL, (0, 1440))
    assert next_change(always, at(5, 12, 0)) is None
    assert next_change(always, at(11, 23, 59, 59)) is None


def test_next_change_keeps_tzinfo() -> None:
    week = set_days({}, WORKDAYS, NINE_TO_FIVE)
    when = at(5, 8, 0)
    change = next_change(week, when)
    assert change is not None
    assert change.tzinfo is when.tzinfo


def test_next_change_spring_forward_is_wall_clock() -> None:
    week: Week = {6: [NINE_TO_FIVE]}
    saturday = dt.datetime(2026, 3, 28, 12, 0, tzinfo=AMS)
    change = next_change(week, saturday)
    assert change == dt.datetime(2026, 3, 29, 9, 0, tzinfo=AMS)
    assert change is not None
    assert change.astimezone(UTC) == dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    closing = next_change(week, change)
    assert closing is not None
    assert closing.astimezone(UTC) == dt.datetime(2026, 3, 29, 15, 0, tzinfo=UTC)


def test_next_change_over_the_missing_hour() -> None:
    week: Week = {6: [(60, 240)]}  # Sunday 01:00-04:00; 02:00-03:00 does not exist 2026-03-29
    when = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC).astimezone(AMS)  # 01:30 CET
    assert is_open(week, when)
    change = next_change(week, when)
    assert change == dt.datetime(2026, 3, 29, 4, 0, tzinfo=AMS)
    assert change is not None
    assert change.astimezone(UTC) == dt.datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_next_change_fall_back_is_wall_clock() -> None:
    week: Week = {6: [(120, 180)]}  # Sunday 02:00-03:00
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC).astimezone(AMS)  # 02:30 CEST
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC).astimezone(AMS)  # 02:30 CET
    for when in (first, second):
        change = next_change(week, when)
        assert change == dt.datetime(2026, 10, 25, 3, 0, tzinfo=AMS)
        assert change is not None
        assert change.astimezone(UTC) == dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    saturday = dt.datetime(2026, 10, 24, 12, 0, tzinfo=AMS)
    opening = next_change(week, saturday)
    assert opening is not None
    assert opening.astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


def test_next_change_business_hours_over_fall_back() -> None:
    week = set_days({}, ALL, NINE_TO_FIVE)
    saturday_evening = dt.datetime(2026, 10, 24, 18, 0, tzinfo=AMS)
    change = next_change(week, saturday_evening)
    assert change == dt.datetime(2026, 10, 25, 9, 0, tzinfo=AMS)
    assert change is not None
    assert change.astimezone(UTC) == dt.datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "week",
    [
        {},
        {0: [NINE_TO_FIVE]},
        {0: [(0, 1440)], 6: [(0, 1), (1439, 1440)]},
        {d: [(540, 720), (780, 1020)] for d in range(7)},
        {3: []},
    ],
)
def test_json_round_trip(week: Week) -> None:
    raw = to_json(week)
    assert json.loads(raw) is not None
    assert from_json(raw) == week
    assert to_json(from_json(raw) or {}) == raw


def test_to_json_shape() -> None:
    assert json.loads(to_json({4: [(600, 700)], 0: [NINE_TO_FIVE]})) == {
        "0": [[540, 1020]],
        "4": [[600, 700]],
    }


def test_from_json_gives_int_keys_and_tuples() -> None:
    week = from_json('{"2": [[540, 600], [700, 800]]}')
    assert week == {2: [(540, 600), (700, 800)]}
    assert week is not None
    assert all(isinstance(w, tuple) for w in week[2])


@pytest.mark.parametrize("raw", [None, ""])
def test_from_json_nothing(raw: str | None) -> None:
    assert from_json(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        " ",
        "null",
        "[]",
        "42",
        '"0"',
        '{"7": [[540, 600]]}',
        '{"-1": [[540, 600]]}',
        '{"mon": [[540, 600]]}',
        '{"00": [[540, 600]]}',
        '{"0": [[600, 540]]}',
        '{"0": [[540, 540]]}',
        '{"0": [[-1, 540]]}',
        '{"0": [[540, 1441]]}',
        '{"0": [[540]]}',
        '{"0": [[540, 600, 700]]}',
        '{"0": [[540.0, 600]]}',
        '{"0": [["540", 600]]}',
        '{"0": [[true, 600]]}',
        '{"0": [540, 600]}',
        '{"0": {"540": 600}}',
        '{"0": null}',
        '{"0": [[700, 800], [540, 600]]}',
        '{"0": [[540, 700], [600, 800]]}',
        "[" * 100_000,
    ],
)
def test_from_json_malformed(raw: str) -> None:
    with refused("bad_time") as caught:
        from_json(raw)
    assert caught.value.values == {"value": raw[:40]}


# --- describe ---------------------------------------------------------------------------------


def test_describe_collapses_consecutive_days() -> None:
    week = set_days({}, WORKDAYS, NINE_TO_FIVE)
    week = set_days(week, frozenset({5}), (600, 720))
    assert describe(week, "nl") == "ma–vr 09:00–17:00; za 10:00–12:00"
    assert describe(week, "en") == "Mon–Fri 09:00–17:00; Sat 10:00–12:00"


def test_describe_several_windows_and_gaps() -> None:
    week: Week = {
        0: [(540, 720), (780, 1020)],
        1: [(540, 720), (780, 1020)],
        3: [(540, 720), (780, 1020)],
        6: [(0, 1440)],
    }
    assert describe(week, "nl") == (
        "ma–di 09:00–12:00, 13:00–17:00; do 09:00–12:00, 13:00–17:00; zo 00:00–24:00"
    )
    assert describe(week, "en") == (
        "Mon–Tue 09:00–12:00, 13:00–17:00; Thu 09:00–12:00, 13:00–17:00; Sun 00:00–24:00"
    )


def test_describe_different_windows_do_not_collapse() -> None:
    week: Week = {0: [NINE_TO_FIVE], 1: [(540, 1000)], 2: [(540, 1000)]}
    assert describe(week, "en") == "Mon 09:00–17:00; Tue–Wed 09:00–16:40"


def test_describe_whole_week() -> None:
    week = set_days({}, ALL, (0, 1440))
    assert describe(week, "nl") == "ma–zo 00:00–24:00"
    assert describe(week, "en") == "Mon–Sun 00:00–24:00"


def test_describe_empty_and_none() -> None:
    assert describe({}, "nl") == "geen tijden"
    assert describe({}, "en") == "no times"
    assert describe({2: []}, "nl") == "geen tijden"
    assert describe(None, "nl") == "altijd"
    assert describe(None, "en") == "always"


def test_describe_unknown_language_is_the_default_language() -> None:
    assert describe({0: [NINE_TO_FIVE]}, "de") == "ma 09:00–17:00"
    assert describe(None, "") == "altijd"
    assert describe_days(frozenset({0}), "fr") == "ma"


@pytest.mark.parametrize(
    ("days", "nl", "en"),
    [
        ({0, 1, 2, 3, 4}, "ma–vr", "Mon–Fri"),
        ({0, 2}, "ma, wo", "Mon, Wed"),
        ({0, 1, 2, 4}, "ma–wo, vr", "Mon–Wed, Fri"),
        ({6}, "zo", "Sun"),
        ({5, 6}, "za–zo", "Sat–Sun"),
        ({0, 5, 6}, "ma, za–zo", "Mon, Sat–Sun"),
        (set(range(7)), "ma–zo", "Mon–Sun"),
        (set(), "geen dagen", "no days"),
    ],
)
def test_describe_days(days: set[int], nl: str, en: str) -> None:
    assert describe_days(frozenset(days), "nl") == nl
    assert describe_days(frozenset(days), "en") == en


def test_describe_days_reads_back() -> None:
    for text in ("ma–vr", "ma, wo", "ma–wo, vr", "za–zo"):
        assert describe_days(parse_days(text), "nl") == text


# --- parse_date -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2026-12-25", dt.date(2026, 12, 25)),
        ("2027-01-05", dt.date(2027, 1, 5)),
        ("2027-1-5", dt.date(2027, 1, 5)),
        ("25-12-2026", dt.date(2026, 12, 25)),
        ("5-1-2027", dt.date(2027, 1, 5)),
        ("25/12/2026", dt.date(2026, 12, 25)),
        ("25-12", dt.date(2030, 12, 25)),
        ("01-01", dt.date(2030, 1, 1)),
        ("25/12", dt.date(2030, 12, 25)),
        (" 25-12 ", dt.date(2030, 12, 25)),
        ("29-02-2028", dt.date(2028, 2, 29)),
    ],
)
def test_parse_date(text: str, date: dt.date) -> None:
    assert parse_date(text, year=2030) == date


def test_a_short_date_already_past_is_next_year() -> None:
    """`!hours closed 1-1` typed in late December closes the coming New Year's Day, not the
    one just gone; a full date is taken as it is."""
    today = dt.date(2026, 12, 20)
    assert parse_date("1-1", year=2026, today=today) == dt.date(2027, 1, 1)
    assert parse_date("25-12", year=2026, today=today) == dt.date(2026, 12, 25)
    assert parse_date("20-12", year=2026, today=today) == dt.date(2026, 12, 20)  # today
    assert parse_date("1-1-2026", year=2026, today=today) == dt.date(2026, 1, 1)
    assert parse_date("2026-01-01", year=2026, today=today) == dt.date(2026, 1, 1)
    assert parse_date("29-02", year=2028, today=dt.date(2028, 3, 1)) == dt.date(2032, 2, 29)


def test_parse_date_short_form_uses_year() -> None:
    assert parse_date("29-02", year=2028) == dt.date(2028, 2, 29)
    with refused("bad_date"):
        parse_date("29-02", year=2027)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "kerst",
        "2026-13-01",
        "2026-02-30",
        "32-12-2026",
        "00-12-2026",
        "25-00",
        "29-02-2026",
        "25-12/2026",
        "25.12.2026",
        "2026/12/25",
        "12-2026",
        "25-12-26",
        "25",
        "2026-12-25T10:00",
        "225-12-2026",
    ],
)
def test_parse_date_refuses(text: str) -> None:
    with refused("bad_date") as caught:
        parse_date(text, year=2026)
    assert caught.value.values == {"value": text}


def test_edit_applies_a_command_to_a_week() -> None:
    week = weekly.edit({}, "ma-vr", ["09:00-12:00", "13:00-17:00"])
    assert week[0] == [(540, 720), (780, 1020)] and 5 not in week
    assert weekly.edit(week, "ma", ["off"]).get(0, []) == []
    with pytest.raises(weekly.ScheduleError):
        weekly.edit(week, "ma", [])
    with pytest.raises(weekly.ScheduleError):
        weekly.edit(week, "nooit", ["9-17"])
