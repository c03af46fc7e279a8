"""The one way to open a transaction (typed, on both engines), and the checkpoint after a
deletion."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mautrix.util.async_db import Connection, Database, Scheme

log = logging.getLogger(__name__)


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[Connection]:
    conn: Connection
    async with db.acquire() as conn, conn.transaction():
        yield conn


async def checkpoint(db: Database) -> None:
    """SQLite: move the write-ahead log into the file and empty it, so no copy of deleted
    pages stays in the -wal file (secure_delete has zeroed them in the file itself)."""
    if db.scheme == Scheme.SQLITE:
        try:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as e:
            log.warning("Could not checkpoint the database: %s", type(e).__name__)
