from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Dead letters, send ledger, client keys")  # type: ignore[call-arg,arg-type]
async def upgrade_v2(conn: Connection, scheme: Scheme) -> None:
    # Inbox events are handled per room. A failing one is retried a few times (attempts,
    # next_attempt_at) and then moved aside as a dead letter (dead_at, reason): the rest of the
    # room goes on. The reason holds an error class or a shape problem, never event content.
    await conn.execute("ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    await conn.execute("ALTER TABLE inbox ADD COLUMN next_attempt_at BIGINT")
    await conn.execute("ALTER TABLE inbox ADD COLUMN dead_at BIGINT")
    await conn.execute("ALTER TABLE inbox ADD COLUMN reason TEXT")
    await conn.execute("CREATE INDEX inbox_room_pending_idx ON inbox(room_id, handled_at, seq)")
    # Every send to Matrix with a stored txn id is noted here before the first try, and its
    # event id once Synapse confirmed it. A send that was tried before (a crash, a lost answer)
    # is looked up in the room before it is tried again: Synapse forgets txn ids on restart.
    await conn.execute("""CREATE TABLE mx_send (
        txn_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        event_id TEXT,
        started_at BIGINT NOT NULL
    )""")
    # A keyed hash of the visitor's network address (never the address itself), for abuse
    # limits such as the number of waiting chats per address.
    await conn.execute("ALTER TABLE session ADD COLUMN client_key TEXT")
    await conn.execute("CREATE INDEX session_client_key_idx ON session(client_key)")
    # A Matrix event reaches the visitor's stream once, decided by the database.
    await conn.execute("CREATE UNIQUE INDEX event_mx_event_idx ON event(mx_event_id)")
