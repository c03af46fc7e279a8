from __future__ import annotations

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


class DispatchAnswerStore:
    """Staff answers to a dispatch ('take' or 'decline'), keyed by their reaction event."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, id: str, user_id: str, answer: str, reaction_event_id: str) -> bool:
        row = await self.db.fetchrow(
            "INSERT INTO dispatch_answer (conversation_id, user_id, answer, reaction_event_id, ts)"
            " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (conversation_id, user_id, answer) DO UPDATE "
            "SET active=TRUE, reaction_event_id=excluded.reaction_event_id RETURNING user_id",
            id,
            user_id,
            answer,
            reaction_event_id,
            now_ms(),
        )
        return row is not None

    async def reset(self, conn: Connection, id: str) -> None:
        """A new dispatch round: earlier answers no longer count."""
        await conn.execute("UPDATE dispatch_answer SET active=FALSE WHERE conversation_id=$1", id)

    async def withdraw(self, reaction_event_id: str) -> tuple[str, str, str] | None:
        row = await self.db.fetchrow(
            "UPDATE dispatch_answer SET active=FALSE WHERE reaction_event_id=$1 AND active "
            "RETURNING conversation_id, user_id, answer",
            reaction_event_id,
        )
        return (row["conversation_id"], row["user_id"], row["answer"]) if row else None

    async def decliners(self, id: str) -> set[str]:
        rows = await self.db.fetch(
            "SELECT user_id FROM dispatch_answer WHERE conversation_id=$1 "
            "AND answer='decline' AND active",
            id,
        )
        return {r["user_id"] for r in rows}
