from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Files and video calls")  # type: ignore[call-arg,arg-type]
async def upgrade_v7(conn: Connection, scheme: Scheme) -> None:
    blob = "BYTEA" if scheme != Scheme.SQLITE else "BLOB"
    # Files exchanged in a conversation, both ways, kept with it (and deleted with it): the
    # visitor never fetches anything from the homeserver. sender: 'visitor' or 'staff'.
    # mx_event_id: the staff event a file came from (each is taken once); mxc: where a
    # visitor's file was uploaded to the homeserver (uploaded once, also after a retry).
    await conn.execute(f"""CREATE TABLE attachment (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        name TEXT NOT NULL,
        mime TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        data {blob} NOT NULL,
        thumbnail {blob},
        thumbnail_mime TEXT,
        mx_event_id TEXT UNIQUE,
        mxc TEXT,
        thumbnail_mxc TEXT,
        created_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE INDEX attachment_conversation_idx ON attachment(conversation_id)")
    # The video call of a consult room: its Jitsi widget (state key), domain and conference.
    await conn.execute("ALTER TABLE conversation ADD COLUMN video_widget_id TEXT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN video_domain TEXT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN video_conference TEXT")
    # A widget that must still be taken out of the room (the chat ended during the call).
    await conn.execute("ALTER TABLE conversation ADD COLUMN video_remove TEXT")
    # The typing preview's notice and its edits in the consult room (event ids only, never the
    # draft), so that they are redacted even when Laura restarted in between.
    await conn.execute("ALTER TABLE conversation ADD COLUMN typing_preview TEXT")
