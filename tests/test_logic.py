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


# Routing (pure) --------------------------------------------------------------------------------

from laura_bot.dispatch.logic import (  # noqa: E402
    BROADCAST,
    ONE_AT_A_TIME,
    Person,
    Round,
    fair_order,
    is_available,
    plan,
)


def person(user: str, available: bool = True, free: int = 1, idle_since: int = 0) -> Person:
    return Person(user, available, free, idle_since)


def test_availability_follows_status_schedule_and_presence() -> None:
    assert is_available("online", False, None)
    assert is_available("online", False, "unavailable")  # idle in Element: still there
    assert not is_available("online", True, "offline")  # every client gone
    assert is_available("auto", True, "online")
    assert not is_available("auto", False, "online")
    assert not is_available("offline", True, "online")


def test_broadcast_asks_everyone_available_with_room() -> None:
    people = [person("@a"), person("@b", available=False), person("@c", free=0)]
    result = plan(BROADCAST, [Round("c1", {}, None)], people, {}, {})
    assert result.asks == [("c1", "@a")]
    assert result.nobody_left == []


def test_open_asks_use_up_room_oldest_chat_first() -> None:
    people = [person("@a", free=1)]
    queue = [Round("c1", {}, None), Round("c2", {}, None)]
    assert plan(BROADCAST, queue, people, {}, {}).asks == [("c1", "@a")]
    # Already asked elsewhere for one chat, with one free slot: not asked again.
    assert plan(BROADCAST, queue, people, {}, {"@a": 1}).asks == []


def test_one_at_a_time_is_fair_and_holds_one_offer() -> None:
    people = [person("@a", free=3, idle_since=50), person("@b", free=3, idle_since=10)]
    queue = [Round("c1", {}, None)]
    # Both run no chat: the one idle longest (took their last chat earliest) first.
    assert plan(ONE_AT_A_TIME, queue, people, {}, {}).asks == [("c1", "@b")]
    # Fewest running chats wins over idle time.
    assert plan(ONE_AT_A_TIME, queue, people, {"@b": 1}, {}).asks == [("c1", "@a")]
    # An open offer is not doubled.
    assert plan(ONE_AT_A_TIME, [Round("c1", {"@b": None}, "@b")], people, {}, {}).asks == []
    # After a no, the next one.
    declined = Round("c1", {"@b": "declined"}, None)
    assert plan(ONE_AT_A_TIME, [declined], people, {}, {}).asks == [("c1", "@a")]


def test_nobody_left_only_when_everyone_available_said_no() -> None:
    people = [person("@a"), person("@b"), person("@away", available=False)]
    both = Round("c1", {"@a": "declined", "@b": "timeout"}, None)
    assert plan(ONE_AT_A_TIME, [both], people, {}, {}).nobody_left == ["c1"]
    one_open = Round("c1", {"@a": "declined", "@b": None}, None)
    assert plan(BROADCAST, [one_open], people, {}, {}).nobody_left == []
    # Someone available but busy has not been asked yet: the chat waits for them.
    busy = [person("@a"), person("@b", free=0)]
    only_a = Round("c1", {"@a": "declined"}, None)
    result = plan(ONE_AT_A_TIME, [only_a], busy, {}, {})
    assert result.asks == [] and result.nobody_left == []
    # Nobody ever asked (nobody there): wait, do not give up.
    assert plan(BROADCAST, [Round("c1", {}, None)], [], {}, {}).nobody_left == []


def test_fair_order_is_stable() -> None:
    people = [person("@b"), person("@a")]
    assert [p.user_id for p in fair_order(people, {})] == ["@a", "@b"]
