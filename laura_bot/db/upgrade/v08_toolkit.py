from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Staff toolkit")  # type: ignore[call-arg,arg-type]
async def upgrade_v8(conn: Connection, scheme: Scheme) -> None:
    serial = (
        "INTEGER PRIMARY KEY AUTOINCREMENT" if scheme == Scheme.SQLITE else "BIGSERIAL PRIMARY KEY"
    )
    # Canned responses (S4): per department, or for everyone (department_id '').
    await conn.execute("""CREATE TABLE canned_response (
        department_id TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (department_id, name)
    )""")
    # Cases (S14): a chat saved for follow-up, with internal notes the visitor never sees.
    await conn.execute("""CREATE TABLE case_record (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        subject TEXT NOT NULL,
        category TEXT,
        notes TEXT,
        email TEXT,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE INDEX case_conversation_idx ON case_record(conversation_id)")
    # Who accessed which conversation, and when (C3): never message content. Append-only.
    await conn.execute(f"""CREATE TABLE audit_log (
        id {serial},
        ts BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        conversation_id TEXT,
        detail TEXT
    )""")
    await conn.execute("CREATE INDEX audit_conversation_idx ON audit_log(conversation_id, ts)")
    await conn.execute("CREATE INDEX audit_actor_idx ON audit_log(actor, ts)")
    # Monitoring (S15): a supervisor follows a chat in a private mirror room of their own.
    await conn.execute("""CREATE TABLE monitor (
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        room_id TEXT,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, user_id, started_at)
    )""")
    # The visitor's rating of an ended chat (S8): 1-5 stars, a comment (required for 1-2).
    await conn.execute("ALTER TABLE conversation ADD COLUMN rating INTEGER")
    await conn.execute("ALTER TABLE conversation ADD COLUMN rating_comment TEXT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN rated_at BIGINT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN rating_txn_id TEXT")
    await conn.execute(
        "ALTER TABLE conversation ADD COLUMN rating_posted BOOLEAN NOT NULL DEFAULT FALSE"
    )
    # What visitors see of a staff member (S19); NULL: their Matrix display name.
    await conn.execute("ALTER TABLE staff_member ADD COLUMN nickname TEXT")
