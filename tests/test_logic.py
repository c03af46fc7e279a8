"""The pure queue and claim rules."""

from __future__ import annotations

import pytest

from laura_bot.dispatch.logic import (
    Answer,
    Decision,
    all_declined,
    decide,
    parse_answer,
    queue_positions,
)
from laura_bot.util import format_duration, parse_duration


@pytest.mark.parametrize(
    "key,answer",
    [
        ("Ik!", Answer.TAKE),
        ("ik!", Answer.TAKE),
        (" Ik! ", Answer.TAKE),
        ("Ik!\ufe0f", Answer.TAKE),
        ("Ik kan nu niet", Answer.DECLINE),
        ("ik  kan nu  niet", Answer.DECLINE),
        ("👍", None),
        ("Ik kan", None),
        ("", None),
    ],
)
def test_parse_answer(key: str, answer: Answer | None) -> None:
    assert parse_answer(key) is answer


@pytest.mark.parametrize(
    "answer,status,member,decision",
    [
        (Answer.TAKE, "waiting", True, Decision.CLAIM),
        (Answer.TAKE, "connected", True, Decision.ALREADY_TAKEN),
        (Answer.TAKE, "contact", True, Decision.TOO_LATE),
        (Answer.TAKE, "ended", True, Decision.TOO_LATE),
        (Answer.TAKE, "waiting", False, Decision.NOT_MEMBER),
        (Answer.DECLINE, "waiting", True, Decision.DECLINE),
        (Answer.DECLINE, "connected", True, Decision.IGNORE),
        (Answer.DECLINE, "waiting", False, Decision.NOT_MEMBER),
        (None, "waiting", True, Decision.IGNORE),
    ],
)
def test_decide(answer: Answer | None, status: str, member: bool, decision: Decision) -> None:
    assert decide(answer, status, is_member=member) is decision


def test_all_declined() -> None:
    assert all_declined({"a", "b"}, {"a", "b"})
    assert all_declined({"a"}, {"a", "b"})  # someone who declined and then left
    assert not all_declined({"a", "b"}, {"a"})
    assert not all_declined(set(), set())  # nobody to ask: the timeout handles it


def test_queue_positions_fifo_per_department() -> None:
    waiting = [
        ("c3", 300, "a"),
        ("c1", 100, "a"),
        ("c2", 200, "a"),
        ("x1", 250, "b"),
        ("t2", 100, "b"),
    ]
    assert queue_positions(waiting) == {"c1": 1, "c2": 2, "c3": 3, "t2": 1, "x1": 2}
    # Same arrival time: stable by id.
    assert queue_positions([("b", 5, "d"), ("a", 5, "d")]) == {"a": 1, "b": 2}
    assert queue_positions([]) == {}


@pytest.mark.parametrize(
    "text,seconds",
    [("30s", 30), ("5m", 300), ("2h", 7200), ("30d", 2592000), ("1.5m", 90), (45, 45), ("10", 10)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "5 minutes", "-5s", "", "5x", True, -1])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert [format_duration(s) for s in (30, 90, 300, 7200, 86400 * 30, 1.5)] == [
        "30s",
        "90s",
        "5m",
        "2h",
        "30d",
        "1.5s",
    ]
