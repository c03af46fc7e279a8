"""Queue and claim rules as pure functions: no I/O, exhaustively unit-tested."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable

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
