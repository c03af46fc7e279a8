from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms

# What an erasure item asks of the homeserver (see matrix/erasure.py).
KINDS = ("thread", "redact", "room", "media", "ghost", "history")


@dataclass
class ErasureItem:
    id: int
    kind: str
    room_id: str | None
    target: str | None
    attempts: int
    next_at: int | None


class ErasureStore:
    """Deletions still to be done on the homeserver, committed in the same transaction as the
    deletion in Laura's own tables; done in order of id, retried until they succeed."""

    _COLS = "id, kind, room_id, target, attempts, next_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, conn: Connection, kind: str, room_id: str | None, target: str | None = None
    ) -> None:
        assert kind in KINDS
        await conn.execute(
            "INSERT INTO erasure (kind, room_id, target, created_at) VALUES ($1,$2,$3,$4)",
            kind,
            room_id,
            target,
            now_ms(),
        )

    async def pending(self, limit: int = 200) -> list[ErasureItem]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM erasure WHERE done_at IS NULL ORDER BY id "
            f"LIMIT {int(limit)}"
        )
        return [ErasureItem(**r) for r in rows]

    async def done(self, id: int) -> None:
        await self.db.execute(
            "UPDATE erasure SET done_at=$2, error=NULL WHERE id=$1", id, now_ms()
        )

    async def retry_later(self, id: int, attempts: int, next_at: int, error: str) -> None:
        await self.db.execute(
            "UPDATE erasure SET attempts=$2, next_at=$3, error=$4 WHERE id=$1",
            id,
            attempts,
            next_at,
            error[:200],
        )

    async def count_pending(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM erasure WHERE done_at IS NULL"))

    async def prune(self, before_ms: int) -> None:
        """Done items hold room and event ids only; they go after a while."""
        await self.db.execute(
            "DELETE FROM erasure WHERE done_at IS NOT NULL AND done_at < $1", before_ms
        )
