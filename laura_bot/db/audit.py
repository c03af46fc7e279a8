from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


@dataclass
class AuditRecord:
    id: int
    ts: int
    actor: str
    action: str
    conversation_id: str | None
    detail: str | None


class AuditStore:
    """Who accessed which conversation and when (C3). Append-only: there is no update or
    delete here, and records never hold message content."""

    _COLS = "id, ts, actor, action, conversation_id, detail"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        actor: str,
        action: str,
        conversation_id: str | None = None,
        detail: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        await (conn or self.db).execute(
            "INSERT INTO audit_log (ts, actor, action, conversation_id, detail) "
            "VALUES ($1,$2,$3,$4,$5)",
            now_ms(),
            actor,
            action,
            conversation_id,
            detail,
        )

    async def of_conversation(self, conversation_id: str, limit: int = 200) -> list[AuditRecord]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM audit_log WHERE conversation_id=$1 ORDER BY ts, id "
            f"LIMIT {int(limit)}",
            conversation_id,
        )
        return [AuditRecord(**r) for r in rows]

    async def of_actor(self, actor: str, limit: int = 200) -> list[AuditRecord]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM audit_log WHERE actor=$1 ORDER BY ts DESC, id DESC "
            f"LIMIT {int(limit)}",
            actor,
        )
        return [AuditRecord(**r) for r in rows]
