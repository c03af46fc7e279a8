from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Appointments")  # type: ignore[call-arg,arg-type]
async def upgrade_v14(conn: Connection, scheme: Scheme) -> None:
    serial = (
        "INTEGER PRIMARY KEY AUTOINCREMENT" if scheme == Scheme.SQLITE else "BIGSERIAL PRIMARY KEY"
    )
    # Appointment types (admins: !afspraaktype): a default title and duration, whether it is a
    # video appointment, the outcomes it may have (JSON list), and the fields the client sees.
    await conn.execute("""CREATE TABLE appointment_type (
        name TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        minutes INTEGER NOT NULL,
        video BOOLEAN NOT NULL DEFAULT FALSE,
        outcomes TEXT NOT NULL,
        client_fields TEXT NOT NULL,
        active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at BIGINT NOT NULL
    )""")
    # An appointment: staff book it for a case (or a visitor for their own chat). `nr` is what
    # staff type (#12); `uid` and `sequence` are the calendar's (fixed; one higher on each change
    # the client hears of); `version` counts every change of Laura's message in Matrix.
    # `link_hash` is the SHA-256 of the client's personal link's secret.
    await conn.execute(f"""CREATE TABLE appointment (
        nr {serial},
        id TEXT NOT NULL UNIQUE,
        uid TEXT NOT NULL UNIQUE,
        sequence INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 0,
        type_name TEXT NOT NULL,
        video BOOLEAN NOT NULL DEFAULT FALSE,
        title TEXT NOT NULL,
        location_kind TEXT NOT NULL,
        location TEXT,
        remarks TEXT,
        internal TEXT,
        start_at BIGINT NOT NULL,
        end_at BIGINT NOT NULL,
        adviser TEXT NOT NULL,
        case_id TEXT REFERENCES case_record(id) ON DELETE CASCADE,
        conversation_id TEXT REFERENCES conversation(id) ON DELETE CASCADE,
        department_id TEXT,
        client_name TEXT,
        client_email TEXT,
        client_phone TEXT,
        lang TEXT NOT NULL DEFAULT 'nl',
        status TEXT NOT NULL,
        outcome TEXT,
        outcome_note TEXT,
        room_id TEXT,
        event_id TEXT,
        video_room_id TEXT,
        shown_version INTEGER NOT NULL DEFAULT -1,
        mailed BOOLEAN NOT NULL DEFAULT FALSE,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE INDEX appointment_adviser_idx ON appointment(adviser, start_at)")
    await conn.execute("CREATE INDEX appointment_case_idx ON appointment(case_id)")
    await conn.execute("CREATE INDEX appointment_conversation_idx ON appointment(conversation_id)")
    # The outbox: every mail is written here in the transaction of the change it reports, and
    # sent from here (retried with back-off; `sent_at` set once the server took it). A mail
    # outlives its appointment until it is sent (the CANCEL of a visitor who deleted their
    # data); a sent one is deleted once its line is in the appointment's thread.
    await conn.execute(f"""CREATE TABLE mail_outbox (
        id {serial},
        appointment_id TEXT REFERENCES appointment(id) ON DELETE SET NULL,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        message TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        last_error TEXT,
        failed_at BIGINT,
        sent_at BIGINT,
        logged BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL
    )""")
    await conn.execute("CREATE INDEX mail_outbox_due_idx ON mail_outbox(sent_at, next_at)")
    # Reminders, like every deadline, in the database: one per appointment and side.
    await conn.execute("""CREATE TABLE appointment_reminder (
        appointment_id TEXT NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        side TEXT NOT NULL,
        due_at BIGINT NOT NULL,
        done_at BIGINT,
        PRIMARY KEY (appointment_id, side)
    )""")
    # A conversation the visitor booked opens at its time offered first to its adviser.
    await conn.execute("ALTER TABLE conversation ADD COLUMN preferred_staff TEXT")
    # Each adviser's e-mail address (for their calendar's copy) and default location.
    await conn.execute("ALTER TABLE staff_member ADD COLUMN email TEXT")
    await conn.execute("ALTER TABLE staff_member ADD COLUMN location TEXT")
    # The SHA-256 of the secret in an adviser's calendar feed address (!agenda feed).
    await conn.execute("ALTER TABLE staff_member ADD COLUMN feed_hash TEXT")
    # Serialises bookings per adviser: a booking bumps this first (a row lock on PostgreSQL,
    # the write lock on SQLite), then checks for overlaps.
    await conn.execute("ALTER TABLE staff_member ADD COLUMN bookings BIGINT NOT NULL DEFAULT 0")
