from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Retention and erasure")  # type: ignore[call-arg,arg-type]
async def upgrade_v9(conn: Connection, scheme: Scheme) -> None:
    serial = (
        "INTEGER PRIMARY KEY AUTOINCREMENT" if scheme == Scheme.SQLITE else "BIGSERIAL PRIMARY KEY"
    )
    # When a chat's content was deleted (retention or the visitor's own request); the row
    # stays as a skeleton without content, for statistics and the audit trail.
    await conn.execute("ALTER TABLE conversation ADD COLUMN purged_at BIGINT")
    await conn.execute("CREATE INDEX conversation_purge_idx ON conversation(purged_at, status)")
    # When everything about a visitor was deleted: name, e-mail and token are gone.
    await conn.execute("ALTER TABLE session ADD COLUMN erased_at BIGINT")
    # What is left to delete on the homeserver, committed with the deletion in Laura's own
    # tables (so a crash cannot forget it). kind: room, redact, thread, media, ghost, history.
    await conn.execute(f"""CREATE TABLE erasure (
        id {serial},
        kind TEXT NOT NULL,
        room_id TEXT,
        target TEXT,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT,
        done_at BIGINT,
        error TEXT
    )""")
    await conn.execute("CREATE INDEX erasure_pending_idx ON erasure(done_at, id)")
    # Files Laura uploaded herself (transcripts, case exports): deleted with what they hold.
    await conn.execute("""CREATE TABLE uploaded_media (
        mxc TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        conversation_id TEXT,
        purpose TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE INDEX uploaded_media_conv_idx ON uploaded_media(conversation_id)")
