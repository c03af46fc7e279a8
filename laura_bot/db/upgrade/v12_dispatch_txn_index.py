from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Requests by their send")  # type: ignore[call-arg,arg-type]
async def upgrade_v12(conn: Connection, scheme: Scheme) -> None:
    # Staff may answer a request before Laura has noted its event id; the event carries the
    # send's txn id, which finds the conversation then.
    await conn.execute(
        "CREATE INDEX conversation_dispatch_txn_idx ON conversation(dispatch_txn_id)"
    )
