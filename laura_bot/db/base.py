"""The one way to open a transaction (typed, on both engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mautrix.util.async_db import Connection, Database


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[Connection]:
    conn: Connection
    async with db.acquire() as conn, conn.transaction():
        yield conn
