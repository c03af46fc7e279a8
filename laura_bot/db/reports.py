"""What reports read: the skeletons of conversations, and the departments' names.

Only columns that retention keeps are read (db/privacy.py erase_chat keeps the conversation
row with its department, times, outcome, taker and the rating's number), so a report over a
period counts the chats deleted since as well as those still kept. Nothing here names a
visitor: no session, no nickname, no text.
"""

from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database


@dataclass
class ChatFacts:
    """One chat as a report sees it (times in ms since the epoch)."""

    department_id: str
    created_at: int
    queued_at: int | None
    taken_at: int | None
    ended_at: int | None
    ended_by: str | None  # "visitor", "staff", "idle" or "contact" (contact details left)
    missed: str | None  # "timeout" or "declined": Laura stopped waiting for staff
    taker: str | None  # the staff member (a Matrix user id) who took it
    rating: int | None


@dataclass
class DepartmentName:
    id: str
    label: str
    active: bool


class ReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def chats_between(
        self, start_ms: int, end_ms: int, department_id: str | None = None
    ) -> list[ChatFacts]:
        """Chats with a department (a topic was chosen, or contact details left for one) that
        started in [start_ms, end_ms), oldest first."""
        query = (
            "SELECT department_id, created_at, queued_at, taken_at, ended_at, ended_by, missed, "
            "taker, rating FROM conversation WHERE department_id IS NOT NULL "
            "AND created_at >= $1 AND created_at < $2"
        )
        args: list[object] = [start_ms, end_ms]
        if department_id is not None:
            query += " AND department_id = $3"
            args.append(department_id)
        rows = await self.db.fetch(query + " ORDER BY created_at, id", *args)
        return [ChatFacts(**r) for r in rows]

    async def departments(self) -> list[DepartmentName]:
        """Every department, removed ones too: their chats are still in past periods."""
        rows = await self.db.fetch("SELECT id, label, active FROM department ORDER BY id")
        return [DepartmentName(r["id"], r["label"], bool(r["active"])) for r in rows]
