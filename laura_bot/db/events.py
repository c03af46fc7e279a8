from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Connection, Database

from ..util import new_txn_id, now_ms


@dataclass
class Event:
    session_id: str
    seq: int
    conversation_id: str | None
    ts: int
    type: str
    sender: str | None
    name: str | None
    body: str | None
    data: str | None
    mx_state: str
    mx_txn_id: str | None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "ts": self.ts, "type": self.type}
        if self.type == "message":
            out.update(sender=self.sender, name=self.name, body=self.body)
        if self.data:
            out.update(json.loads(self.data))
        return out


class EventStore:
    """The visitor's event stream; doubles as the outbox towards the consult room."""

    _COLS = (
        "session_id, seq, conversation_id, ts, type, sender, name, body, data, mx_state, mx_txn_id"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        conn: Connection,
        session_id: str,
        conversation_id: str | None,
        type: str,
        *,
        sender: str | None = None,
        name: str | None = None,
        body: str | None = None,
        data: dict[str, Any] | None = None,
        client_txn_id: str | None = None,
        to_matrix: bool = False,
        mx_event_id: str | None = None,
        ts: int | None = None,
    ) -> int:
        """Append inside the caller's transaction; the seq has no gaps because the counter
        update rolls back with the insert. ts: when (now unless given)."""
        seq = await conn.fetchval(
            "UPDATE session SET last_seq = last_seq + 1 WHERE id=$1 RETURNING last_seq", session_id
        )
        await conn.execute(
            "INSERT INTO event (session_id, seq, conversation_id, ts, type, sender, name, body, "
            "data, client_txn_id, mx_state, mx_txn_id, mx_event_id) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
            session_id,
            seq,
            conversation_id,
            ts or now_ms(),
            type,
            sender,
            name,
            body,
            json.dumps(data) if data else None,
            client_txn_id,
            "pending" if to_matrix else "none",
            new_txn_id() if to_matrix else None,
            mx_event_id,
        )
        return int(seq)

    async def append_many(
        self, conn: Connection, type: str, rows: Sequence[tuple[str, str | None, dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """Append one event of one type to each of many sessions (session, conversation, data;
        each session at most once) inside the caller's transaction, in two statements; returns
        each session's new event in API form."""
        if not rows:
            return {}
        marks = ",".join(f"${i}" for i in range(1, len(rows) + 1))
        counters = await conn.fetch(
            f"UPDATE session SET last_seq = last_seq + 1 WHERE id IN ({marks}) "
            "RETURNING id, last_seq",
            *[r[0] for r in rows],
        )
        seqs = {c["id"]: int(c["last_seq"]) for c in counters}
        ts = now_ms()
        made, out = [], {}
        for session_id, conversation_id, data in rows:
            seq = seqs.get(session_id)
            if seq is None:
                continue  # the session is gone
            made.append(
                (session_id, seq, conversation_id, ts, type, json.dumps(data) if data else None)
            )
            out[session_id] = {"seq": seq, "ts": ts, "type": type, **data}
        await conn.executemany(
            "INSERT INTO event (session_id, seq, conversation_id, ts, type, data, mx_state) "
            "VALUES ($1,$2,$3,$4,$5,$6,'none')",
            made,
        )
        return out

    async def seq_for_client_txn(self, session_id: str, client_txn_id: str) -> int | None:
        return await self.db.fetchval(
            "SELECT seq FROM event WHERE session_id=$1 AND client_txn_id=$2",
            session_id,
            client_txn_id,
        )

    async def has_mx_event(self, mx_event_id: str) -> bool:
        return (
            await self.db.fetchval("SELECT 1 FROM event WHERE mx_event_id=$1", mx_event_id)
            is not None
        )

    async def after(self, session_id: str, after: int, limit: int = 200) -> list[Event]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM event WHERE session_id=$1 AND seq>$2 ORDER BY seq "
            f"LIMIT {int(limit)}",
            session_id,
            after,
        )
        return [Event(**r) for r in rows]

    async def of_conversation(self, conversation_id: str) -> list[Event]:
        """Everything in one conversation, in order (for its transcript)."""
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM event WHERE conversation_id=$1 ORDER BY seq",
            conversation_id,
        )
        return [Event(**r) for r in rows]

    async def pending_for(self, conversation_id: str) -> list[Event]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM event WHERE conversation_id=$1 AND mx_state='pending' "
            "ORDER BY seq",
            conversation_id,
        )
        return [Event(**r) for r in rows]

    async def conversations_with_pending(self) -> list[str]:
        rows = await self.db.fetch(
            "SELECT DISTINCT e.conversation_id FROM event e JOIN conversation c "
            "ON c.id=e.conversation_id WHERE e.mx_state='pending' AND c.status<>'choosing'"
        )
        return [r["conversation_id"] for r in rows]

    async def skip_pending(self, conversation_id: str) -> None:
        """The chat ended before it had a room: nothing to deliver to (kept in the DB)."""
        await self.db.execute(
            "UPDATE event SET mx_state='skipped' WHERE conversation_id=$1 AND mx_state='pending'",
            conversation_id,
        )

    async def mark_sent(self, session_id: str, seq: int, mx_event_id: str | None) -> None:
        """Sent to the consult room; mx_event_id None: as part of another event (the opening
        notice), whose id belongs to no one message."""
        await self.db.execute(
            "UPDATE event SET mx_state='sent', mx_event_id=$3 WHERE session_id=$1 AND seq=$2",
            session_id,
            seq,
            mx_event_id,
        )

    async def first_visitor_message(self, conversation_id: str) -> str | None:
        return await self.db.fetchval(
            "SELECT body FROM event WHERE conversation_id=$1 AND type='message' AND "
            "sender='visitor' ORDER BY seq LIMIT 1",
            conversation_id,
        )
