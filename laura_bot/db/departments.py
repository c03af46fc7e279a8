from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database

from ..util import now_ms


@dataclass
class Department:
    id: str
    label: str
    room_id: str | None
    routing: str
    active: bool
    hours: str | None = None  # business hours (weekly.to_json); None: always open


class DepartmentStore:
    _COLS = "id, label, room_id, routing, active, hours"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, id: str, label: str) -> bool:
        """Add (or re-activate) a department; False when an active one has that id."""
        row = await self.db.fetchrow(
            "INSERT INTO department (id, label, created_at) VALUES ($1,$2,$3) "
            "ON CONFLICT (id) DO UPDATE SET label=excluded.label, active=TRUE "
            "WHERE NOT department.active RETURNING id",
            id,
            label,
            now_ms(),
        )
        return row is not None

    async def set_room(self, id: str, room_id: str) -> None:
        await self.db.execute("UPDATE department SET room_id=$2 WHERE id=$1", id, room_id)

    async def set_routing(self, id: str, routing: str) -> bool:
        row = await self.db.fetchrow(
            "UPDATE department SET routing=$2 WHERE id=$1 AND active RETURNING id", id, routing
        )
        return row is not None

    async def set_hours(self, id: str, hours: str | None) -> bool:
        row = await self.db.fetchrow(
            "UPDATE department SET hours=$2 WHERE id=$1 AND active RETURNING id", id, hours
        )
        return row is not None

    async def deactivate(self, id: str) -> bool:
        row = await self.db.fetchrow(
            "UPDATE department SET active=FALSE WHERE id=$1 AND active RETURNING id", id
        )
        return row is not None

    async def get_by_id(self, id: str) -> Department | None:
        row = await self.db.fetchrow(f"SELECT {self._COLS} FROM department WHERE id=$1", id)
        return Department(**row) if row else None

    async def get_by_room(self, room_id: str) -> Department | None:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM department WHERE room_id=$1", room_id
        )
        return Department(**row) if row else None

    async def all_active(self) -> list[Department]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM department WHERE active ORDER BY created_at, id"
        )
        return [Department(**r) for r in rows]

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM department"))
