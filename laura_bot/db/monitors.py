from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database, Scheme


@dataclass
class Monitor:
    """One supervisor following one chat (S15), from started_at until ended_at."""

    conversation_id: str
    user_id: str
    room_id: str | None  # the private mirror room; None until Laura has made it
    started_at: int
    ended_at: int | None
    last_seq: int  # the last event of the visitor's stream handled for the mirror

    @property
    def key(self) -> str:
        """The monitor's name for the task runner (user ids hold no spaces)."""
        return f"{self.conversation_id} {self.user_id} {self.started_at}"


def parse_key(key: str) -> tuple[str, str, int]:
    conversation_id, user_id, started_at = key.split(" ")
    return conversation_id, user_id, int(started_at)


class MonitorStore:
    """Monitoring sessions: who follows which chat, in which mirror room, how far it got."""

    _COLS = "conversation_id, user_id, room_id, started_at, ended_at, last_seq"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(
        self, conn: Connection, conversation_id: str, user_id: str, now: int
    ) -> Monitor | None:
        """A new monitoring session, in the caller's transaction; None while this person
        already follows this chat. On PostgreSQL the pair is locked until the transaction
        ends, so two starts at once make one row (SQLite writes one at a time anyway)."""
        if self.db.scheme == Scheme.POSTGRES:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                f"laura.monitor.{conversation_id}.{user_id}",
            )
        active = await conn.fetchval(
            "SELECT 1 FROM monitor WHERE conversation_id=$1 AND user_id=$2 AND ended_at IS NULL",
            conversation_id,
            user_id,
        )
        if active:
            return None
        await conn.execute(
            "INSERT INTO monitor (conversation_id, user_id, started_at, last_seq) "
            "VALUES ($1,$2,$3,0)",
            conversation_id,
            user_id,
            now,
        )
        return Monitor(conversation_id, user_id, None, now, None, 0)

    async def get(self, conversation_id: str, user_id: str, started_at: int) -> Monitor | None:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM monitor WHERE conversation_id=$1 AND user_id=$2 "
            "AND started_at=$3",
            conversation_id,
            user_id,
            started_at,
        )
        return Monitor(**row) if row else None

    async def get_active(self, conversation_id: str, user_id: str) -> Monitor | None:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM monitor WHERE conversation_id=$1 AND user_id=$2 "
            "AND ended_at IS NULL",
            conversation_id,
            user_id,
        )
        return Monitor(**row) if row else None

    async def all_active(self, conversation_id: str | None = None) -> list[Monitor]:
        """Every monitoring session still running (of one chat, if given)."""
        if conversation_id is None:
            rows = await self.db.fetch(
                f"SELECT {self._COLS} FROM monitor WHERE ended_at IS NULL ORDER BY started_at"
            )
        else:
            rows = await self.db.fetch(
                f"SELECT {self._COLS} FROM monitor WHERE ended_at IS NULL AND conversation_id=$1 "
                "ORDER BY started_at",
                conversation_id,
            )
        return [Monitor(**r) for r in rows]

    async def all_ended_since(self, since: int) -> list[Monitor]:
        """Sessions ended since then that had a mirror room (to finish closing it)."""
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM monitor WHERE ended_at >= $1 AND room_id IS NOT NULL",
            since,
        )
        return [Monitor(**r) for r in rows]

    async def set_room(self, mon: Monitor, room_id: str) -> None:
        await self.db.execute(
            "UPDATE monitor SET room_id=$4 WHERE conversation_id=$1 AND user_id=$2 "
            "AND started_at=$3",
            mon.conversation_id,
            mon.user_id,
            mon.started_at,
            room_id,
        )

    async def advance(self, mon: Monitor, seq: int) -> None:
        """The mirror has everything up to seq (never moves back)."""
        await self.db.execute(
            "UPDATE monitor SET last_seq=$4 WHERE conversation_id=$1 AND user_id=$2 "
            "AND started_at=$3 AND last_seq < $4",
            mon.conversation_id,
            mon.user_id,
            mon.started_at,
            seq,
        )

    async def end(self, conn: Connection, mon: Monitor, now: int) -> bool:
        """End a session in the caller's transaction; False if it had ended already."""
        row = await conn.fetchrow(
            "UPDATE monitor SET ended_at=$4 WHERE conversation_id=$1 AND user_id=$2 "
            "AND started_at=$3 AND ended_at IS NULL RETURNING started_at",
            mon.conversation_id,
            mon.user_id,
            mon.started_at,
            now,
        )
        return row is not None
