from __future__ import annotations

from mautrix.util.async_db import Database

from ..util import now_ms


class SendStore:
    """The ledger of sends to Matrix that carry a stored txn id (ids only, no content).

    Synapse remembers an appservice's txn ids only in memory, so after a Synapse restart a
    retried send would make a second copy. A send noted here before is therefore looked up in
    its room before it is tried again.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def note(self, txn_id: str, room_id: str) -> tuple[bool, str | None]:
        """Note a send before its first try. Returns (tried before, its event id if the
        homeserver confirmed it)."""
        row = await self.db.fetchrow(
            "INSERT INTO mx_send (txn_id, room_id, started_at) VALUES ($1,$2,$3) "
            "ON CONFLICT (txn_id) DO NOTHING RETURNING txn_id",
            txn_id,
            room_id,
            now_ms(),
        )
        if row is not None:
            return False, None
        event_id = await self.db.fetchval("SELECT event_id FROM mx_send WHERE txn_id=$1", txn_id)
        return True, event_id

    async def started_at(self, txn_id: str) -> int | None:
        """When the send was first noted (ms), or None if it never was."""
        value = await self.db.fetchval("SELECT started_at FROM mx_send WHERE txn_id=$1", txn_id)
        return int(value) if value is not None else None

    async def confirm(self, txn_id: str, event_id: str) -> None:
        await self.db.execute("UPDATE mx_send SET event_id=$2 WHERE txn_id=$1", txn_id, event_id)

    async def prune(self, older_than_ms: int) -> None:
        await self.db.execute("DELETE FROM mx_send WHERE started_at < $1", older_than_ms)
