from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Who closed a chat")  # type: ignore[call-arg,arg-type]
async def upgrade_v13(conn: Connection, scheme: Scheme) -> None:
    # A chat closed with !close: who closed it and the command's event. The consult room's
    # closing notice (who closed it, and the deletion date) answers that event; it is sent from
    # these, so a restart between the close and the notice still sends it, once.
    await conn.execute("ALTER TABLE conversation ADD COLUMN closed_by TEXT")
    await conn.execute("ALTER TABLE conversation ADD COLUMN close_event_id TEXT")
