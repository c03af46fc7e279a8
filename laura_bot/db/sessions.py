from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


@dataclass
class Session:
    id: str
    token_hash: str
    name: str | None
    email: str | None
    language: str
    ghost_id: str
    last_seq: int
    conversation_id: str | None
    created_at: int

    @property
    def nickname(self) -> str:
        """What staff see: the name the visitor gave, or a neutral one from the opaque id."""
        return self.name or f"Bezoeker {self.ghost_id[:4]}"


class SessionStore:
    _COLS = (
        "id, token_hash, name, email, language, ghost_id, last_seq, conversation_id, created_at"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        conn: Connection,
        id: str,
        token_hash: str,
        name: str | None,
        email: str | None,
        language: str,
        ghost_id: str,
    ) -> Session:
        ts = now_ms()
        await conn.execute(
            "INSERT INTO session (id, token_hash, name, email, language, ghost_id, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            id,
            token_hash,
            name,
            email,
            language,
            ghost_id,
            ts,
        )
        return Session(id, token_hash, name, email, language, ghost_id, 0, None, ts)

    async def get_by_id(self, id: str) -> Session | None:
        row = await self.db.fetchrow(f"SELECT {self._COLS} FROM session WHERE id=$1", id)
        return Session(**row) if row else None
