from __future__ import annotations

from mautrix.util.async_db import Connection, Database

from .base import transaction


class ConversationStaffStore:
    """Staff in a consult room, as the visitor sees them (to_invite, invite, join, leave)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, id: str, user_id: str, name: str, membership: str) -> str | None:
        """Record a staff membership; returns the previous membership (None when new)."""
        async with transaction(self.db) as conn:
            prev = await conn.fetchval(
                "SELECT membership FROM conversation_staff WHERE "
                "conversation_id=$1 AND user_id=$2",
                id,
                user_id,
            )
            await conn.execute(
                "INSERT INTO conversation_staff (conversation_id, user_id, name, membership) "
                "VALUES ($1,$2,$3,$4) ON CONFLICT (conversation_id, user_id) DO UPDATE "
                "SET name=excluded.name, membership=excluded.membership",
                id,
                user_id,
                name,
                membership,
            )
            return prev

    async def to_be_invited(self, conn: Connection, id: str, user_id: str, name: str) -> None:
        """Mark someone to be invited to the consult room (unless already in it)."""
        await conn.execute(
            "INSERT INTO conversation_staff (conversation_id, user_id, name, membership) "
            "VALUES ($1,$2,$3,'to_invite') ON CONFLICT (conversation_id, user_id) DO UPDATE "
            "SET membership='to_invite' WHERE conversation_staff.membership <> 'join'",
            id,
            user_id,
            name,
        )

    async def to_invite(self, id: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT user_id FROM conversation_staff WHERE "
            "conversation_id=$1 AND membership='to_invite'",
            id,
        )
        return [r["user_id"] for r in rows]

    async def mark_invited(self, id: str, user_id: str) -> None:
        await self.db.execute(
            "UPDATE conversation_staff SET membership='invite' WHERE "
            "conversation_id=$1 AND user_id=$2 AND membership='to_invite'",
            id,
            user_id,
        )

    async def name_of(self, id: str, user_id: str) -> str | None:
        return await self.db.fetchval(
            "SELECT name FROM conversation_staff WHERE conversation_id=$1 AND user_id=$2",
            id,
            user_id,
        )

    async def joined(self, id: str) -> list[tuple[str, str]]:
        rows = await self.db.fetch(
            "SELECT user_id, name FROM conversation_staff WHERE "
            "conversation_id=$1 AND membership='join' ORDER BY name",
            id,
        )
        return [(r["user_id"], r["name"]) for r in rows]

    async def ever_joined(self, id: str) -> list[str]:
        """Names of everyone who was in the consult room at some point (for the transcript)."""
        rows = await self.db.fetch(
            "SELECT name FROM conversation_staff WHERE conversation_id=$1 AND "
            "membership IN ('join', 'leave') ORDER BY name",
            id,
        )
        return [r["name"] for r in rows]

    async def present(self, id: str) -> list[str]:
        """Staff in the consult room or on their way in (invited, or to be invited)."""
        rows = await self.db.fetch(
            "SELECT user_id FROM conversation_staff WHERE conversation_id=$1 AND "
            "membership IN ('join', 'invite', 'to_invite')",
            id,
        )
        return [r["user_id"] for r in rows]

    async def rename(self, id: str, user_id: str, name: str) -> None:
        await self.db.execute(
            "UPDATE conversation_staff SET name=$3 WHERE conversation_id=$1 AND user_id=$2",
            id,
            user_id,
            name,
        )
