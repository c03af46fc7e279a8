from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Queue order index")  # type: ignore[call-arg,arg-type]
async def upgrade_v6(conn: Connection, scheme: Scheme) -> None:
    # A department's queue in order (the head of the queue for routing, the last place for a
    # new arrival) without reading the whole queue: thousands may wait.
    await conn.execute(
        "CREATE INDEX conversation_queue_idx ON conversation(department_id, status, queued_at)"
    )
