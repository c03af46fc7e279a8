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

    async def note(self, txn_id: str, room_id: str) -> bool:
        """Note a send before its first try; False when it was tried before."""
        row = await self.db.fetchrow(
            "INSERT INTO mx_send (txn_id, room_id, started_at) VALUES ($1,$2,$3) "
            "ON CONFLICT (txn_id) DO NOTHING RETURNING txn_id",
            txn_id,
            room_id,
            now_ms(),
        )
        return row is not None

    async def prune(self, older_than_ms: int) -> None:
        await self.db.execute("DELETE FROM mx_send WHERE started_at < $1", older_than_ms)
