from __future__ import annotations

import secrets

from mautrix.util.async_db import Database


class SettingStore:
    """Key/value settings changed at run time (!set) and Laura's own bookkeeping: room ids,
    secrets, and the config's admins and staff as last applied."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        return await self.db.fetchval("SELECT value FROM setting WHERE key=$1", key)

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO setting (key, value) VALUES ($1,$2) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            key,
            value,
        )

    async def delete(self, key: str) -> None:
        await self.db.execute("DELETE FROM setting WHERE key=$1", key)

    async def with_prefix(self, prefix: str) -> dict[str, str]:
        rows = await self.db.fetch(
            "SELECT key, value FROM setting WHERE key LIKE $1", prefix + "%"
        )
        return {r["key"]: r["value"] for r in rows if r["key"].startswith(prefix)}

    async def secret(self, key: str) -> bytes:
        """A random secret made on first use and kept here (e.g. the key of the address
        hashes). Two processes asking at once agree: the first insert wins."""
        await self.db.execute(
            "INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            key,
            secrets.token_hex(32),
        )
        return bytes.fromhex(await self.db.fetchval("SELECT value FROM setting WHERE key=$1", key))

    async def all(self) -> dict[str, str]:
        rows = await self.db.fetch("SELECT key, value FROM setting")
        return {r["key"]: r["value"] for r in rows}
