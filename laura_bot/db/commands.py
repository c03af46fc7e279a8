from __future__ import annotations

from mautrix.util.async_db import Database

from ..util import now_ms


class CommandStore:
    """Commands that have started, with their reply until it was sent: a retried event never
    runs a command twice."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, event_id: str, room_id: str) -> tuple[bool, str | None]:
        """Before running: (True, None) the first time; (False, stored reply or None when it
        stopped half-way or its reply was sent already) for a retried event."""
        row = await self.db.fetchrow(
            "INSERT INTO command_run (event_id, room_id, ran_at) VALUES ($1,$2,$3) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            event_id,
            room_id,
            now_ms(),
        )
        if row is not None:
            return True, None
        return False, await self.db.fetchval(
            "SELECT reply FROM command_run WHERE event_id=$1", event_id
        )

    async def finish(self, event_id: str, reply: str) -> None:
        await self.db.execute("UPDATE command_run SET reply=$2 WHERE event_id=$1", event_id, reply)

    async def sent(self, event_id: str) -> None:
        """The reply reached the room: keep only the fact that the command ran."""
        await self.db.execute("UPDATE command_run SET reply='' WHERE event_id=$1", event_id)

    async def prune(self, older_than_ms: int) -> None:
        await self.db.execute("DELETE FROM command_run WHERE ran_at < $1", older_than_ms)
