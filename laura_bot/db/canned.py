from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database

from ..util import now_ms

SHARED = ""  # department_id of an answer every department may use


@dataclass
class CannedResponse:
    department_id: str
    name: str
    text: str  # a Jinja2 template, rendered in the sandbox when it is sent
    created_by: str
    created_at: int


class CannedStore:
    """Canned responses (S4): per department, or for everyone (SHARED)."""

    _COLS = "department_id, name, text, created_by, created_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, department_id: str, name: str, text: str, created_by: str) -> bool:
        """False when that department already has an answer by that name: never overwritten,
        so a colleague's answer cannot be replaced by accident."""
        row = await self.db.fetchrow(
            "INSERT INTO canned_response (department_id, name, text, created_by, created_at) "
            "VALUES ($1,$2,$3,$4,$5) ON CONFLICT (department_id, name) DO NOTHING RETURNING name",
            department_id,
            name,
            text,
            created_by,
            now_ms(),
        )
        return row is not None

    async def remove(self, department_id: str, name: str) -> bool:
        row = await self.db.fetchrow(
            "DELETE FROM canned_response WHERE department_id=$1 AND name=$2 RETURNING name",
            department_id,
            name,
        )
        return row is not None

    async def get_by_name(self, name: str, department_id: str) -> CannedResponse | None:
        """The answer a chat of this department gets for #name: its own before a shared one."""
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM canned_response WHERE name=$1 "
            "AND department_id IN ($2, '') ORDER BY department_id = '' LIMIT 1",
            name,
            department_id,
        )
        return CannedResponse(**row) if row else None

    async def all_for_department(self, department_id: str) -> list[CannedResponse]:
        """The department's own answers, then the shared ones, each by name."""
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM canned_response WHERE department_id IN ($1, '') "
            "ORDER BY department_id = '', name",
            department_id,
        )
        return [CannedResponse(**r) for r in rows]

    async def all(self) -> list[CannedResponse]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM canned_response ORDER BY department_id, name"
        )
        return [CannedResponse(**r) for r in rows]
