"""Queue and claim rules as pure functions: no I/O, exhaustively unit-tested."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..status import Status

TAKE_KEY = "Ik!"
DECLINE_KEY = "Ik kan nu niet"


class Answer(enum.Enum):
    TAKE = "take"
    DECLINE = "decline"


class Decision(enum.Enum):
    CLAIM = "claim"  # try to claim in the database (it still decides races)
    ALREADY_TAKEN = "already_taken"  # polite notice, no invite
    TOO_LATE = "too_late"  # the request is no longer open (contact asked, ended)
    DECLINE = "decline"  # Laura stops waiting for this person
    NOT_MEMBER = "not_member"  # not in the department: refused
    IGNORE = "ignore"  # not an answer at all


def _normalise(key: str) -> str:
    # Element may add variation selectors or spaces; compare the visible text, case-folded.
    text = "".join(
        c
        for c in unicodedata.normalize("NFC", key)
        if unicodedata.category(c) != "Mn" and c not in "\ufe0e\ufe0f\u200d"
    )
    return " ".join(text.split()).casefold()


def parse_answer(key: str) -> Answer | None:
    norm = _normalise(key)
    if norm in ("ik!", "ik"):
        return Answer.TAKE
    if norm in ("ik kan nu niet", "ik kan nu niet."):
        return Answer.DECLINE
    return None


def decide(answer: Answer | None, status: str, *, is_member: bool) -> Decision:
    """What a staff reaction on a dispatch message means, given the conversation's status."""
    if answer is None:
        return Decision.IGNORE
    if not is_member:
        return Decision.NOT_MEMBER
    if answer is Answer.DECLINE:
        return Decision.DECLINE if status == Status.WAITING else Decision.IGNORE
    if status == Status.WAITING:
        return Decision.CLAIM
    if status == Status.CONNECTED:
        return Decision.ALREADY_TAKEN
    return Decision.TOO_LATE


def all_declined(members: Iterable[str], decliners: Iterable[str]) -> bool:
    """True when every current member has said "Ik kan nu niet" (and there is at least one)."""
    member_set = set(members)
    return bool(member_set) and member_set <= set(decliners)


def queue_positions(waiting: Iterable[tuple[str, int, str]]) -> dict[str, int]:
    """First come, first served: (conversation id, queued_at, department) → 1-based position
    within its department. Ties are broken by id so the order is stable."""
    by_dept: dict[str, list[tuple[int, str]]] = {}
    for conv_id, queued_at, dept in waiting:
        by_dept.setdefault(dept, []).append((queued_at, conv_id))
    positions: dict[str, int] = {}
    for entries in by_dept.values():
        for pos, (_, conv_id) in enumerate(sorted(entries), start=1):
            positions[conv_id] = pos
    return positions


# Availability and routing ----------------------------------------------------------------------

BROADCAST, ONE_AT_A_TIME = "broadcast", "one-at-a-time"
ROUTING_MODES = (BROADCAST, ONE_AT_A_TIME)


def is_available(status: str, in_schedule: bool, presence: str | None) -> bool:
    """A staff member can be asked: they chose online (or auto, inside their schedule), and
    their Matrix clients have not all gone (presence offline; unknown counts as present)."""
    if presence == "offline":
        return False
    if status == "online":
        return True
    return status == "auto" and in_schedule


@dataclass(frozen=True)
class Person:
    user_id: str
    available: bool
    free: int  # capacity minus running chats (may be ≤ 0)
    last_assigned_at: int  # 0 when never


@dataclass(frozen=True)
class Round:
    """A waiting chat's current dispatch round: who was asked, and how it went."""

    conversation_id: str
    asked: dict[str, str | None]  # user → outcome (None while open)
    offered_to: str | None  # the open offer (one at a time, or to the preferred person)
    preferred: str | None = None  # offered first to this person (a booked conversation)


@dataclass
class Plan:
    asks: list[tuple[str, str]] = field(default_factory=list)  # (conversation, user)
    nobody_left: list[str] = field(default_factory=list)  # → the all-declined path
    # Asks that are offers (held for offer_timeout) also when the department broadcasts: the
    # first ask of a booked conversation, to the adviser it was booked with.
    offers: set[tuple[str, str]] = field(default_factory=set)


def fair_order(people: Iterable[Person], running: dict[str, int]) -> list[Person]:
    """Fewest running chats first, then the one idle longest, then by id (stable)."""
    return sorted(people, key=lambda p: (running.get(p.user_id, 0), p.last_assigned_at, p.user_id))


def plan(
    mode: str,
    queue: list[Round],
    people: list[Person],
    running: dict[str, int],
    open_asks: dict[str, int],
) -> Plan:
    """Who to ask next for each waiting chat, oldest chat first.

    Broadcast asks every available person with room for one more chat; one at a time asks
    the fairest one such person, when nobody holds the offer. Open asks count against room
    (someone asked for two chats with one free slot is not asked for a third). A chat whose
    every available person has said no (or let an offer pass) goes the all-declined way;
    one that waits for someone busy stays in the queue and is offered when room frees up. A
    chat with a preferred person (a booked conversation) is offered to them first."""
    budget = {p.user_id: p.free - open_asks.get(p.user_id, 0) for p in people if p.available}
    available = [p for p in fair_order(people, running) if p.available]
    # One at a time: an offer someone holds (or is given in this pass) counts as a chat for
    # the fair order, so chats arriving together go to different people, not all to the
    # first until she is full.
    load = {p.user_id: running.get(p.user_id, 0) + open_asks.get(p.user_id, 0) for p in people}
    result = Plan()
    by_id = {p.user_id: p for p in available}
    for chat in queue:
        asked = chat.asked
        if chat.offered_to and (mode == ONE_AT_A_TIME or chat.offered_to == chat.preferred):
            continue
        first = by_id.get(chat.preferred or "")
        if first and first.user_id not in asked and budget[first.user_id] > 0:
            # A booked conversation: offered to its adviser first, in either mode; when they
            # let it pass (or are away or full), it is routed as any other chat.
            budget[first.user_id] -= 1
            load[first.user_id] += 1
            result.asks.append((chat.conversation_id, first.user_id))
            result.offers.add((chat.conversation_id, first.user_id))
            continue
        fresh = [p for p in available if p.user_id not in asked and budget[p.user_id] > 0]
        if mode == ONE_AT_A_TIME:
            fresh = sorted(fresh, key=lambda p: (load[p.user_id], p.last_assigned_at, p.user_id))
            fresh = fresh[:1]
        for p in fresh:
            budget[p.user_id] -= 1
            load[p.user_id] += 1
            result.asks.append((chat.conversation_id, p.user_id))
        if fresh:
            continue
        still_open = any(outcome is None for outcome in asked.values())
        unasked = [p for p in available if p.user_id not in asked]
        if asked and not still_open and not unasked:
            result.nobody_left.append(chat.conversation_id)
    return result
