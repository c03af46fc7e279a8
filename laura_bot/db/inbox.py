from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

from ..util import now_ms
from .base import transaction


def _ts(raw: dict[str, Any]) -> int:
    ts = raw.get("origin_server_ts")
    return ts if isinstance(ts, int) else 0


@dataclass
class InboxEvent:
    """A stored Matrix event as Synapse sent it, with its handling bookkeeping."""

    seq: int
    event_id: str
    room_id: str
    raw: dict[str, Any]
    attempts: int
    next_attempt_at: int | None


@dataclass
class DeadLetter:
    """An event moved aside: ids and the reason only, never its content."""

    seq: int
    event_id: str
    room_id: str
    type: str
    sender: str
    received_at: int
    dead_at: int
    attempts: int
    reason: str


class InboxStore:
    """Matrix events committed before the appservice transaction is answered 200.

    Handled per room in arrival order. A row is pending until it is handled (handled_at) or
    moved aside as a dead letter (dead_at).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, events: list[dict[str, Any]]) -> int:
        """One transaction for the whole batch; raises if the database cannot store it.
        Returns how many were new (an event id seen before is stored once).

        Nothing is taken in from the room of a deleted chat: its inbox rows went with it, so
        an old event read again (a catch-up that listed the room just before the deletion) or
        one the homeserver pushes late would otherwise come back as new, with its content."""
        ts = now_ms()
        new = 0
        deleted: dict[str, bool] = {}
        async with transaction(self.db) as conn:
            for evt in events:
                room_id = evt.get("room_id")  # the same rule as appservice.room_key
                room = room_id if isinstance(room_id, str) else ""
                if room not in deleted:
                    deleted[room] = bool(
                        await conn.fetchval(
                            "SELECT 1 FROM conversation WHERE room_id=$1 "
                            "AND purged_at IS NOT NULL",
                            room,
                        )
                    )
                if deleted[room]:
                    continue
                row = await conn.fetchrow(
                    "INSERT INTO inbox (event_id, room_id, raw, received_at) VALUES ($1,$2,$3,$4)"
                    " ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                    evt["event_id"],
                    room,
                    json.dumps(evt),
                    ts,
                )
                new += row is not None
        return new

    async def pending_in(self, room_id: str, limit: int = 50) -> list[InboxEvent]:
        rows = await self.db.fetch(
            "SELECT seq, event_id, room_id, raw, attempts, next_attempt_at FROM inbox "
            "WHERE room_id=$1 AND handled_at IS NULL AND dead_at IS NULL "
            f"ORDER BY seq LIMIT {int(limit)}",
            room_id,
        )
        events = [
            InboxEvent(
                r["seq"],
                r["event_id"],
                r["room_id"],
                json.loads(r["raw"]),
                r["attempts"],
                r["next_attempt_at"],
            )
            for r in rows
        ]
        # Arrival order, except that an event caught up later (the homeserver never pushed
        # it) goes where the homeserver's clock puts it among those still pending.
        return sorted(events, key=lambda e: (_ts(e.raw), e.seq))

    async def oldest_pending(self) -> int | None:
        """When the oldest event still to handle arrived (retries waiting their turn aside):
        the readiness check's measure of a stalled inbox."""
        value = await self.db.fetchval(
            "SELECT MIN(received_at) FROM inbox WHERE handled_at IS NULL AND dead_at IS NULL "
            "AND next_attempt_at IS NULL"
        )
        return int(value) if value is not None else None

    async def rooms_with_pending(self) -> list[str]:
        rows = await self.db.fetch(
            "SELECT DISTINCT room_id FROM inbox WHERE handled_at IS NULL AND dead_at IS NULL"
        )
        return [r["room_id"] for r in rows]

    async def mark_handled(self, event_id: str) -> None:
        """Done with it. Privacy: its content goes now; the row stays, with the event id (for
        deduplication) and a skeleton without content."""
        await self.db.execute(
            "UPDATE inbox SET handled_at=$2, raw=$3 WHERE event_id=$1",
            event_id,
            now_ms(),
            json.dumps({"event_id": event_id, "content": {}}),
        )

    async def clear_backoff(self) -> None:
        """The homeserver is back: events waiting out a back-off may go at once."""
        await self.db.execute(
            "UPDATE inbox SET next_attempt_at=NULL WHERE next_attempt_at IS NOT NULL "
            "AND handled_at IS NULL AND dead_at IS NULL"
        )

    async def retry_later(self, event_id: str, attempts: int, at_ms: int) -> None:
        await self.db.execute(
            "UPDATE inbox SET attempts=$2, next_attempt_at=$3 WHERE event_id=$1",
            event_id,
            attempts,
            at_ms,
        )

    async def move_aside(self, event_id: str, attempts: int, reason: str) -> None:
        await self.db.execute(
            "UPDATE inbox SET attempts=$2, dead_at=$3, reason=$4 WHERE event_id=$1",
            event_id,
            attempts,
            now_ms(),
            reason[:200],
        )

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        rows = await self.db.fetch(
            "SELECT seq, event_id, room_id, raw, received_at, dead_at, attempts, reason "
            f"FROM inbox WHERE dead_at IS NOT NULL ORDER BY seq DESC LIMIT {int(limit)}"
        )
        out = []
        for r in rows:
            raw = json.loads(r["raw"])
            out.append(
                DeadLetter(
                    r["seq"],
                    r["event_id"],
                    r["room_id"],
                    str(raw.get("type"))[:80],
                    str(raw.get("sender"))[:80],
                    r["received_at"],
                    r["dead_at"],
                    r["attempts"],
                    r["reason"] or "",
                )
            )
        return out

    async def count_dead(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM inbox WHERE dead_at IS NOT NULL"))

    async def revive(self, seq: int) -> str | None:
        """Put a dead letter back in line (an admin's retry); returns its room id."""
        row = await self.db.fetchrow(
            "UPDATE inbox SET dead_at=NULL, reason=NULL, attempts=0, next_attempt_at=NULL "
            "WHERE seq=$1 AND dead_at IS NOT NULL RETURNING room_id",
            seq,
        )
        return row["room_id"] if row else None

    async def count(self, event_id: str) -> int:
        return int(
            await self.db.fetchval("SELECT COUNT(*) FROM inbox WHERE event_id=$1", event_id)
        )
