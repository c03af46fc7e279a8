from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database

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


class SessionStore:
    _COLS = (
        "id, token_hash, name, email, language, ghost_id, last_seq, conversation_id, created_at"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        id: str,
        token_hash: str,
        name: str | None,
        email: str | None,
        language: str,
        ghost_id: str,
    ) -> Session:
        ts = now_ms()
        await self.db.execute(
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

    async def get_by_ghost(self, ghost_id: str) -> Session | None:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM session WHERE ghost_id=$1", ghost_id
        )
        return Session(**row) if row else None
