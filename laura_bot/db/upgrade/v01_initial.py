from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Initial schema")  # type: ignore[call-arg,arg-type]
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    # A visitor's chat session. The token is stored only as a SHA-256 hash.
    await conn.execute("""CREATE TABLE session (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        name TEXT,
        email TEXT,
        language TEXT NOT NULL,
        ghost_id TEXT NOT NULL UNIQUE,
        last_seq BIGINT NOT NULL DEFAULT 0,
        conversation_id TEXT,
        created_at BIGINT NOT NULL
    )""")
    # One conversation: a topic, a consult room and its dispatch. Every deadline lives here.
    await conn.execute("""CREATE TABLE conversation (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        department_id TEXT,
        room_id TEXT,
        created_at BIGINT NOT NULL,
        queued_at BIGINT,
        dispatch_deadline BIGINT,
        next_queue_update BIGINT,
        dispatch_room_id TEXT,
        dispatch_txn_id TEXT,
        dispatch_event_id TEXT,
        dispatch_outcome_sent TEXT,
        taker TEXT,
        taker_name TEXT,
        taken_at BIGINT,
        ended_at BIGINT,
        ended_by TEXT,
        last_position INTEGER,
        ghost_left BOOLEAN NOT NULL DEFAULT FALSE
    )""")
    await conn.execute(
        "CREATE INDEX conversation_status_idx ON conversation(status, department_id)"
    )
    await conn.execute("CREATE INDEX conversation_room_idx ON conversation(room_id)")
    await conn.execute("CREATE INDEX conversation_dispatch_idx ON conversation(dispatch_event_id)")
    # Everything the visitor sees, numbered per session without gaps. Rows with mx_state
    # 'pending' still have to be sent to the consult room, with the stored mx_txn_id.
    await conn.execute("""CREATE TABLE event (
        session_id TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        seq BIGINT NOT NULL,
        conversation_id TEXT,
        ts BIGINT NOT NULL,
        type TEXT NOT NULL,
        sender TEXT,
        name TEXT,
        body TEXT,
        data TEXT,
        client_txn_id TEXT,
        mx_state TEXT NOT NULL DEFAULT 'none',
        mx_txn_id TEXT,
        mx_event_id TEXT,
        PRIMARY KEY (session_id, seq)
    )""")
    await conn.execute(
        "CREATE UNIQUE INDEX event_client_txn_idx ON event(session_id, client_txn_id)"
    )
    await conn.execute("CREATE INDEX event_pending_idx ON event(mx_state, conversation_id)")
    # Answers of staff to a dispatch: 'take' or 'decline', keyed by the reaction event.
    await conn.execute("""CREATE TABLE dispatch_answer (
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        reaction_event_id TEXT NOT NULL UNIQUE,
        ts BIGINT NOT NULL,
        active BOOLEAN NOT NULL DEFAULT TRUE,
        PRIMARY KEY (conversation_id, user_id, answer)
    )""")
    # Staff in a consult room, as the visitor sees them.
    await conn.execute("""CREATE TABLE conversation_staff (
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        membership TEXT NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
    )""")
    await conn.execute("""CREATE TABLE contact_request (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        name TEXT,
        phone TEXT,
        email TEXT,
        message TEXT,
        created_at BIGINT NOT NULL,
        mx_txn_id TEXT NOT NULL,
        mx_event_id TEXT
    )""")
    await conn.execute("""CREATE TABLE department (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        room_id TEXT,
        routing TEXT NOT NULL DEFAULT 'broadcast',
        active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # Matrix events committed before the transaction is answered; handled_at marks done.
    serial = (
        "INTEGER PRIMARY KEY AUTOINCREMENT" if scheme == Scheme.SQLITE else "BIGSERIAL PRIMARY KEY"
    )
    await conn.execute(f"""CREATE TABLE inbox (
        seq {serial},
        event_id TEXT NOT NULL UNIQUE,
        room_id TEXT NOT NULL,
        raw TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        handled_at BIGINT
    )""")
    await conn.execute("CREATE INDEX inbox_pending_idx ON inbox(handled_at, seq)")
