from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms

ONLINE, AUTO, OFFLINE = "online", "auto", "offline"
STATUSES = (ONLINE, AUTO, OFFLINE)


@dataclass
class StaffMember:
    """A staff member's own availability settings and what Laura saw of their clients."""

    user_id: str
    status: str = ONLINE  # chosen with !status: online, auto (follows schedule) or offline
    schedule: str | None = None  # the weekly schedule for auto (weekly.to_json)
    capacity: int | None = None  # own maximum of concurrent chats; None: the default setting
    presence: str | None = None  # Matrix presence last seen; None: never seen
    presence_at: int | None = None
    last_assigned_at: int | None = None  # when they last took a chat (fairness: longest idle)
    nickname: str | None = None  # what visitors see (!nick); None: their Matrix display name
    email: str | None = None  # for the calendar copy of their appointments (!email)
    location: str | None = None  # their default appointment location (admins: !locatie)


class StaffMemberStore:
    _COLS = (
        "user_id, status, schedule, capacity, presence, presence_at, last_assigned_at, nickname, "
        "email, location"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> StaffMember:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM staff_member WHERE user_id=$1", user_id
        )
        return StaffMember(**row) if row else StaffMember(user_id)

    async def many(self, user_ids: set[str] | list[str]) -> dict[str, StaffMember]:
        """Every one of user_ids, with defaults for those without a row."""
        found = {u: StaffMember(u) for u in user_ids}
        if found:
            rows = await self.db.fetch(f"SELECT {self._COLS} FROM staff_member")
            for row in rows:
                if row["user_id"] in found:
                    found[row["user_id"]] = StaffMember(**row)
        return found

    async def set(self, user_id: str, **fields: object) -> None:
        cols = list(fields)
        marks = ", ".join(f"${i + 2}" for i in range(len(cols)))
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols)
        await self.db.execute(
            f"INSERT INTO staff_member (user_id, {', '.join(cols)}) VALUES ($1, {marks}) "
            f"ON CONFLICT (user_id) DO UPDATE SET {updates}",
            user_id,
            *fields.values(),
        )

    async def nickname(self, user_id: str) -> str | None:
        return await self.db.fetchval(
            "SELECT nickname FROM staff_member WHERE user_id=$1", user_id
        )

    async def set_nickname(self, user_id: str, nickname: str | None) -> None:
        """A new nickname also renames them in the chats they are in now."""
        await self.set(user_id, nickname=nickname)
        if nickname:
            await self.db.execute(
                "UPDATE conversation_staff SET name=$2 WHERE user_id=$1 AND conversation_id IN "
                "(SELECT id FROM conversation WHERE status<>'ended')",
                user_id,
                nickname,
            )

    async def open_rooms_of(self, user_id: str) -> list[tuple[str, str]]:
        """(conversation, consult room) of the chats they are in now."""
        rows = await self.db.fetch(
            "SELECT c.id, c.room_id FROM conversation_staff s JOIN conversation c ON "
            "c.id=s.conversation_id WHERE s.user_id=$1 AND c.status<>'ended' AND "
            "c.room_id IS NOT NULL",
            user_id,
        )
        return [(r["id"], r["room_id"]) for r in rows]

    async def set_presence(self, user_id: str, presence: str) -> str | None:
        """Record a presence; returns the one before (None when never seen)."""
        prev = await self.db.fetchval(
            "SELECT presence FROM staff_member WHERE user_id=$1", user_id
        )
        if prev != presence:
            await self.set(user_id, presence=presence, presence_at=now_ms())
        return prev

    async def assigned(self, conn: Connection, user_id: str, at: int) -> None:
        await conn.execute(
            "INSERT INTO staff_member (user_id, last_assigned_at) VALUES ($1, $2) "
            "ON CONFLICT (user_id) DO UPDATE SET last_assigned_at=excluded.last_assigned_at",
            user_id,
            at,
        )

    async def active_chats(self) -> dict[str, int]:
        """Running chats per staff member: open (connected) conversations they were brought
        into and did not leave."""
        rows = await self.db.fetch(
            "SELECT s.user_id, COUNT(*) AS n FROM conversation_staff s "
            "JOIN conversation c ON c.id = s.conversation_id "
            "WHERE c.status='connected' AND s.membership IN ('to_invite','invite','join') "
            "GROUP BY s.user_id"
        )
        return {r["user_id"]: int(r["n"]) for r in rows}
