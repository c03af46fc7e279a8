from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database, Scheme

from ..texts import DEFAULT_LANGUAGE, staff_text
from ..textsafety import visitor_name
from ..util import now_ms


def nickname(name: str | None, ghost_id: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """What staff see: the name the visitor gave, or a neutral one from the opaque id (also
    for a name that imitates Laura's portal statement, should one be in the database)."""
    return visitor_name(name) or staff_text(lang, "visitor_unnamed", short=ghost_id[:4])


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
    client_key: str | None = None
    verified_id: str | None = None  # the host portal's id for the visitor (portal mode)

    @property
    def nickname(self) -> str:
        return nickname(self.name, self.ghost_id)


class SessionStore:
    _COLS = (
        "id, token_hash, name, email, language, ghost_id, last_seq, conversation_id, created_at, "
        "client_key, verified_id"
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
        client_key: str | None = None,
        verified_id: str | None = None,
    ) -> Session:
        ts = now_ms()
        await conn.execute(
            "INSERT INTO session "
            "(id, token_hash, name, email, language, ghost_id, created_at, client_key, "
            "verified_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            id,
            token_hash,
            name,
            email,
            language,
            ghost_id,
            ts,
            client_key,
            verified_id,
        )
        return Session(
            id, token_hash, name, email, language, ghost_id, 0, None, ts, client_key, verified_id
        )

    async def set_language(self, id: str, language: str) -> None:
        await self.db.execute("UPDATE session SET language=$2 WHERE id=$1", id, language)

    async def get_by_id(self, id: str) -> Session | None:
        row = await self.db.fetchrow(f"SELECT {self._COLS} FROM session WHERE id=$1", id)
        return Session(**row) if row else None

    async def count_waiting_by_client(self, conn: Connection, client_key: str) -> int:
        """Conversations in status waiting of chats from this client key. Inside the caller's
        transaction; on PostgreSQL it first takes a lock per client key until the transaction
        ends, so two chats from one address entering the queue at once are counted one after
        the other (SQLite runs one write transaction at a time anyway)."""
        if self.db.scheme == Scheme.POSTGRES:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", client_key)
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM conversation c JOIN session s ON s.id = c.session_id "
                "WHERE s.client_key=$1 AND c.status='waiting'",
                client_key,
            )
        )
