from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


@dataclass
class ContactRequest:
    """Contact details a visitor left to be called back, and where it was posted to staff."""

    id: str
    conversation_id: str
    name: str | None
    phone: str | None
    email: str | None
    message: str | None
    mx_txn_id: str


class ContactRequestStore:
    _COLS = "id, conversation_id, name, phone, email, message, mx_txn_id"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, conn: Connection, request: ContactRequest) -> None:
        await conn.execute(
            "INSERT INTO contact_request (id, conversation_id, name, phone, email, message, "
            "created_at, mx_txn_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            request.id,
            request.conversation_id,
            request.name,
            request.phone,
            request.email,
            request.message,
            now_ms(),
            request.mx_txn_id,
        )

    async def all_unposted(self) -> list[ContactRequest]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM contact_request WHERE mx_event_id IS NULL "
            "ORDER BY created_at"
        )
        return [ContactRequest(**r) for r in rows]

    async def mark_posted(self, id: str, event_id: str) -> None:
        await self.db.execute(
            "UPDATE contact_request SET mx_event_id=$2 WHERE id=$1", id, event_id
        )
