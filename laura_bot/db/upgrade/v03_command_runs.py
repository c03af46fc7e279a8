from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Commands run once")  # type: ignore[call-arg,arg-type]
async def upgrade_v3(conn: Connection, scheme: Scheme) -> None:
    # A command is not safe to repeat (!staff add, !close, ...): its reply is stored once it has
    # run, and a retried event (the reply could not be sent) only sends the stored reply.
    await conn.execute("""CREATE TABLE command_run (
        event_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        reply TEXT NOT NULL,
        ran_at BIGINT NOT NULL
    )""")
