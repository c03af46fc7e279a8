from __future__ import annotations

import json
from typing import Any

from mautrix.util.async_db import Database

from ..util import now_ms
from .base import transaction


class InboxStore:
    """Matrix events committed before the appservice transaction is answered 200."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, events: list[dict[str, Any]]) -> None:
        """One transaction for the whole batch; raises if the database cannot store it."""
        ts = now_ms()
        async with transaction(self.db) as conn:
            for evt in events:
                await conn.execute(
                    "INSERT INTO inbox (event_id, room_id, raw, received_at) VALUES ($1,$2,$3,$4)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    evt["event_id"],
                    evt.get("room_id", ""),
                    json.dumps(evt),
                    ts,
                )

    async def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            f"SELECT raw FROM inbox WHERE handled_at IS NULL ORDER BY seq LIMIT {int(limit)}"
        )
        return [json.loads(r["raw"]) for r in rows]

    async def mark_handled(self, event_id: str) -> None:
        await self.db.execute(
            "UPDATE inbox SET handled_at=$2 WHERE event_id=$1", event_id, now_ms()
        )

    async def count(self, event_id: str) -> int:
        return int(
            await self.db.fetchval("SELECT COUNT(*) FROM inbox WHERE event_id=$1", event_id)
        )
