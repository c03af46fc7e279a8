from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Escalation of long waits")  # type: ignore[call-arg,arg-type]
async def upgrade_v4(conn: Connection, scheme: Scheme) -> None:
    # A chat that waits too long is announced again, louder: level 1 mentions the whole
    # department again, level 2 the admins. escalate_at is the next deadline (in the database,
    # so a restart loses none); escalation_posted is how far the Matrix side has caught up.
    await conn.execute("ALTER TABLE conversation ADD COLUMN escalate_at BIGINT")
    await conn.execute(
        "ALTER TABLE conversation ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0"
    )
    await conn.execute(
        "ALTER TABLE conversation ADD COLUMN escalation_posted INTEGER NOT NULL DEFAULT 0"
    )
