from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Commands run once")  # type: ignore[call-arg,arg-type]
async def upgrade_v3(conn: Connection, scheme: Scheme) -> None:
    # A command is not safe to repeat (!staff add, !close, ...). A row is made before it runs
    # and its reply stored when it has; a retried event (the reply could not be sent, or Laura
    # stopped half-way) never runs it again. The reply is blanked once it was sent (privacy: it
    # can name a visitor).
    await conn.execute("""CREATE TABLE command_run (
        event_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        reply TEXT,
        ran_at BIGINT NOT NULL
    )""")
