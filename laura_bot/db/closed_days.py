from __future__ import annotations

from mautrix.util.async_db import Database

ALL = ""  # department_id of a day closed for every department


class ClosedDayStore:
    """Days a department (or, with ALL, every department) is closed: holidays."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, day: str, department_id: str = ALL, label: str | None = None) -> None:
        await self.db.execute(
            "INSERT INTO closed_day (day, department_id, label) VALUES ($1,$2,$3) "
            "ON CONFLICT (day, department_id) DO UPDATE SET label=excluded.label",
            day,
            department_id,
            label,
        )

    async def remove(self, day: str, department_id: str = ALL) -> bool:
        row = await self.db.fetchrow(
            "DELETE FROM closed_day WHERE day=$1 AND department_id=$2 RETURNING day",
            day,
            department_id,
        )
        return row is not None

    async def is_closed(self, day: str, department_id: str) -> bool:
        row = await self.db.fetchrow(
            "SELECT day FROM closed_day WHERE day=$1 AND department_id IN ($2, '')",
            day,
            department_id,
        )
        return row is not None

    async def upcoming(self, from_day: str) -> list[tuple[str, str, str | None]]:
        rows = await self.db.fetch(
            "SELECT day, department_id, label FROM closed_day WHERE day >= $1 "
            "ORDER BY day, department_id",
            from_day,
        )
        return [(r["day"], r["department_id"], r["label"]) for r in rows]
