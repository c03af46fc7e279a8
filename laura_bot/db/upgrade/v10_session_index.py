from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="A session's chats")  # type: ignore[call-arg,arg-type]
async def upgrade_v10(conn: Connection, scheme: Scheme) -> None:
    # A visitor's chats without reading every chat: the retention sweep asks, for every
    # visitor, whether any of theirs is left (10,000 sessions took SQLite 13 s without it,
    # holding the only connection all the while).
    await conn.execute(
        "CREATE INDEX conversation_session_idx ON conversation(session_id, purged_at)"
    )
