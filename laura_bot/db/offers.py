from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms

MENTION, OFFER = "mention", "offer"


@dataclass
class DispatchOffer:
    conversation_id: str
    round: str
    user_id: str
    kind: str  # MENTION (broadcast) or OFFER (one at a time)
    offered_at: int
    outcome: str | None  # None while open; declined, timeout, taken, gone
    txn_id: str
    event_id: str | None  # the Matrix event that asked them (None: not posted yet)


class DispatchOfferStore:
    """Who was asked for which chat in which dispatch round, and what came of it."""

    _COLS = "conversation_id, round, user_id, kind, offered_at, outcome, txn_id, event_id"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, conn: Connection, conv_id: str, round: str, user_id: str, kind: str, txn_id: str
    ) -> bool:
        row = await conn.fetchrow(
            "INSERT INTO dispatch_offer (conversation_id, round, user_id, kind, offered_at, "
            "txn_id) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING RETURNING user_id",
            conv_id,
            round,
            user_id,
            kind,
            now_ms(),
            txn_id,
        )
        return row is not None

    async def in_department(self, department_id: str) -> list[DispatchOffer]:
        """Every offer of the current rounds of the department's waiting chats."""
        rows = await self.db.fetch(
            "SELECT o.conversation_id, o.round, o.user_id, o.kind, o.offered_at, o.outcome, "
            "o.txn_id, o.event_id FROM dispatch_offer o JOIN conversation c "
            "ON c.id = o.conversation_id AND c.dispatch_txn_id = o.round "
            "WHERE c.status='waiting' AND c.department_id=$1",
            department_id,
        )
        return [DispatchOffer(**r) for r in rows]

    async def open_per_user(self) -> dict[str, int]:
        """Open asks per staff member over all waiting chats (their current rounds)."""
        rows = await self.db.fetch(
            "SELECT o.user_id, COUNT(*) AS n FROM dispatch_offer o JOIN conversation c "
            "ON c.id = o.conversation_id AND c.dispatch_txn_id = o.round "
            "WHERE c.status='waiting' AND o.outcome IS NULL GROUP BY o.user_id"
        )
        return {r["user_id"]: int(r["n"]) for r in rows}

    async def of_round(self, conv_id: str, round: str) -> list[DispatchOffer]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM dispatch_offer WHERE conversation_id=$1 AND round=$2 "
            "ORDER BY offered_at, user_id",
            conv_id,
            round,
        )
        return [DispatchOffer(**r) for r in rows]

    async def close(
        self, conn: Connection, conv_id: str, round: str, user_id: str, outcome: str
    ) -> bool:
        """End an open offer; False when it was not open."""
        row = await conn.fetchrow(
            "UPDATE dispatch_offer SET outcome=$4 WHERE conversation_id=$1 AND round=$2 "
            "AND user_id=$3 AND outcome IS NULL RETURNING user_id",
            conv_id,
            round,
            user_id,
            outcome,
        )
        return row is not None

    async def posted(self, conv_id: str, round: str, user_id: str, event_id: str) -> None:
        await self.db.execute(
            "UPDATE dispatch_offer SET event_id=$4 WHERE conversation_id=$1 AND round=$2 "
            "AND user_id=$3",
            conv_id,
            round,
            user_id,
            event_id,
        )

    async def forget(self, conn: Connection, conv_id: str, round: str, user_id: str) -> None:
        """As if they were never asked this round (they went away, or took back a no)."""
        await conn.execute(
            "DELETE FROM dispatch_offer WHERE conversation_id=$1 AND round=$2 AND user_id=$3",
            conv_id,
            round,
            user_id,
        )

    async def unposted(self, conv_id: str, round: str) -> list[DispatchOffer]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM dispatch_offer WHERE conversation_id=$1 AND round=$2 "
            "AND event_id IS NULL AND outcome IS NULL ORDER BY offered_at, user_id",
            conv_id,
            round,
        )
        return [DispatchOffer(**r) for r in rows]
