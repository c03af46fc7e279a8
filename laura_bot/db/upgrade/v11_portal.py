from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Portal identities")  # type: ignore[call-arg,arg-type]
async def upgrade_v11(conn: Connection, scheme: Scheme) -> None:
    # The host portal's id for a visitor whose identity it signed (portal mode); erased with
    # the visitor's name and e-mail.
    await conn.execute("ALTER TABLE session ADD COLUMN verified_id TEXT")
