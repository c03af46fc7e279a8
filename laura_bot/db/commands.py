from __future__ import annotations

from mautrix.util.async_db import Database

from ..util import now_ms


class CommandStore:
    """Commands that have run, with their reply (so a retried event never runs one twice)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def reply_for(self, event_id: str) -> str | None:
        return await self.db.fetchval("SELECT reply FROM command_run WHERE event_id=$1", event_id)

    async def record(self, event_id: str, room_id: str, reply: str) -> None:
        await self.db.execute(
            "INSERT INTO command_run (event_id, room_id, reply, ran_at) VALUES ($1,$2,$3,$4) "
            "ON CONFLICT (event_id) DO NOTHING",
            event_id,
            room_id,
            reply,
            now_ms(),
        )

    async def prune(self, older_than_ms: int) -> None:
        await self.db.execute("DELETE FROM command_run WHERE ran_at < $1", older_than_ms)
