"""What the team's dashboard reads: a department's queue with what staff see of each visitor."""

from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database

from .sessions import nickname


@dataclass(frozen=True)
class QueuedChat:
    chat_id: str
    nickname: str
    queued_at: int
    offered_to: str | None
    unread: int  # the visitor's messages since staff last wrote to them (none: all of them)


async def queue(db: Database, department_id: str, limit: int) -> list[QueuedChat]:
    """The department's queue in order (one query)."""
    rows = await db.fetch(
        "SELECT c.id, c.queued_at, c.offered_to, s.name, s.ghost_id, "
        "(SELECT COUNT(*) FROM event e WHERE e.conversation_id = c.id AND e.type = 'message' "
        " AND e.sender = 'visitor' AND e.seq > COALESCE((SELECT MAX(f.seq) FROM event f "
        "  WHERE f.conversation_id = c.id AND f.sender = 'staff'), 0)) AS unread "
        "FROM conversation c JOIN session s ON s.id = c.session_id "
        "WHERE c.status = 'waiting' AND c.department_id = $1 "
        f"ORDER BY c.queued_at, c.id LIMIT {int(limit)}",
        department_id,
    )
    return [
        QueuedChat(
            r["id"],
            nickname(r["name"], r["ghost_id"]),
            r["queued_at"] or 0,
            r["offered_to"],
            int(r["unread"]),
        )
        for r in rows
    ]
