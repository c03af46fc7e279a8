from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="What reports count")  # type: ignore[call-arg,arg-type]
async def upgrade_v16(conn: Connection, scheme: Scheme) -> None:
    # Reports (!rapport) count chats nobody took in time apart from chats everybody declined.
    # The reason is set when Laura stops waiting ("timeout" or "declined") on the conversation
    # row, whose skeleton outlives the chat's content (retention), so a report still counts a
    # deleted chat; the dispatch answers that also tell it are deleted with the chat. Reports
    # read conversations by when they started.
    await conn.execute("ALTER TABLE conversation ADD COLUMN missed TEXT")
    await conn.execute("CREATE INDEX conversation_created_idx ON conversation(created_at)")
