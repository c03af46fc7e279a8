from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Availability, capacity and routing")  # type: ignore[call-arg,arg-type]
async def upgrade_v5(conn: Connection, scheme: Scheme) -> None:
    # One row per staff member who set something, or whose presence Laura has seen. A staff
    # member without a row is online, has the default capacity and an unknown presence.
    await conn.execute("""CREATE TABLE staff_member (
        user_id TEXT PRIMARY KEY,
        status TEXT NOT NULL DEFAULT 'online',
        schedule TEXT,
        capacity INTEGER,
        presence TEXT,
        presence_at BIGINT,
        last_assigned_at BIGINT
    )""")
    # Who was asked for a chat in a dispatch round (round = the conversation's
    # dispatch_txn_id): 'mention' in broadcast mode, 'offer' in one-at-a-time mode. The outcome
    # of an offer is NULL while it is open, then 'declined', 'timeout', 'taken' or 'gone'.
    # txn_id/event_id: the Matrix side (the mention, the edit that shows the offer).
    await conn.execute("""CREATE TABLE dispatch_offer (
        conversation_id TEXT NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        round TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        offered_at BIGINT NOT NULL,
        outcome TEXT,
        txn_id TEXT NOT NULL,
        event_id TEXT,
        PRIMARY KEY (conversation_id, round, user_id)
    )""")
    await conn.execute("CREATE INDEX dispatch_offer_user_idx ON dispatch_offer(user_id, outcome)")
    # The open offer of a one-at-a-time round and its deadline (a restart loses none).
    await conn.execute("ALTER TABLE conversation ADD COLUMN offered_to TEXT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN offer_deadline BIGINT")
    # Waiting room (S18): notifications sent to a waiting visitor, and who spoke last.
    await conn.execute(
        "ALTER TABLE conversation ADD COLUMN notify_count INTEGER NOT NULL DEFAULT 0"
    )
    await conn.execute("ALTER TABLE conversation ADD COLUMN last_speaker TEXT")
    # Inactivity (S21): the last message of either side, the warning, and when it ends.
    await conn.execute("ALTER TABLE conversation ADD COLUMN last_activity_at BIGINT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN idle_deadline BIGINT")
    await conn.execute(
        "ALTER TABLE conversation ADD COLUMN idle_warned BOOLEAN NOT NULL DEFAULT FALSE"
    )
    # Business hours of a department (a weekly schedule as JSON; NULL: always open) and
    # closed days (holidays), for one department or ('') for all.
    await conn.execute("ALTER TABLE department ADD COLUMN hours TEXT")
    await conn.execute("""CREATE TABLE closed_day (
        day TEXT NOT NULL,
        department_id TEXT NOT NULL DEFAULT '',
        label TEXT,
        PRIMARY KEY (day, department_id)
    )""")
