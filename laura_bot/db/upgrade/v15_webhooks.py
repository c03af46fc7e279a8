from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table


@upgrade_table.register(description="Webhooks")  # type: ignore[call-arg,arg-type]
async def upgrade_v15(conn: Connection, scheme: Scheme) -> None:
    # The webhooks' outbox: one row an event and endpoint, written in the transaction of the
    # change it reports. `id` is the webhook-id every attempt sends (the receiver's key for
    # leaving out a repeat); `payload` is the JSON body as it is signed and sent, made once.
    # Retention deletes a chat's rows with the chat (conversation_id).
    await conn.execute("""CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        conversation_id TEXT,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT,
        delivered_at BIGINT,
        failed_at BIGINT,
        last_error TEXT
    )""")
    await conn.execute("CREATE INDEX webhook_outbox_due_idx ON webhook_outbox(endpoint, next_at)")
    await conn.execute(
        "CREATE INDEX webhook_outbox_conversation_idx ON webhook_outbox(conversation_id)"
    )
