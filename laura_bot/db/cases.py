from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

from ..util import now_ms, random_id


@dataclass
class Case:
    """A chat saved for follow-up (S14). The notes are internal: they live only here and in
    exports to the control room, never in the visitor's event stream."""

    id: str
    conversation_id: str
    subject: str
    category: str | None
    notes: str | None
    email: str | None
    created_by: str
    created_at: int


@dataclass
class CaseListing:
    """A case as `!cases` lists it: with its chat's department."""

    case: Case
    department_id: str | None


_FIELDS = (
    "id",
    "conversation_id",
    "subject",
    "category",
    "notes",
    "email",
    "created_by",
    "created_at",
)


def _case(row: Any) -> Case:
    return Case(*(row[f] for f in _FIELDS))


class CaseStore:
    _COLS = ", ".join(_FIELDS)
    # Newest first; `!cases` and `!cases export <nr>` number cases in this order.
    _ORDER = "ORDER BY k.created_at DESC, k.id DESC"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        conversation_id: str,
        subject: str,
        category: str | None,
        notes: str | None,
        email: str | None,
        created_by: str,
    ) -> Case:
        case = Case(
            random_id(), conversation_id, subject, category, notes, email, created_by, now_ms()
        )
        await self.db.execute(
            f"INSERT INTO case_record ({self._COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            case.id,
            case.conversation_id,
            case.subject,
            case.category,
            case.notes,
            case.email,
            case.created_by,
            case.created_at,
        )
        return case

    async def get_by_id(self, id: str) -> Case | None:
        row = await self.db.fetchrow(f"SELECT {self._COLS} FROM case_record WHERE id=$1", id)
        return _case(row) if row else None

    async def all_newest(self, limit: int) -> list[CaseListing]:
        cols = ", ".join(f"k.{c.strip()}" for c in self._COLS.split(","))
        rows = await self.db.fetch(
            f"SELECT {cols}, c.department_id FROM case_record k "
            f"JOIN conversation c ON c.id = k.conversation_id {self._ORDER} LIMIT {int(limit)}"
        )
        return [
            CaseListing(
                Case(**{k: r[k] for k in r.keys() if k != "department_id"}), r["department_id"]
            )
            for r in rows
        ]

    async def of_conversation(self, conversation_id: str) -> Case | None:
        """The chat's latest case."""
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM case_record k WHERE conversation_id=$1 {self._ORDER} "
            "LIMIT 1",
            conversation_id,
        )
        return _case(row) if row else None

    async def get_by_number(self, number: int) -> Case | None:
        """The number-th case as `!cases` lists them (1 = newest)."""
        if number < 1:
            return None
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM case_record k {self._ORDER} "
            f"LIMIT 1 OFFSET {int(number - 1)}"
        )
        return _case(row) if row else None

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM case_record"))

    async def conversations_with_cases(self, conversation_ids: list[str]) -> set[str]:
        """Those of the conversations that were saved as a case at least once."""
        if not conversation_ids:
            return set()
        marks = ",".join(f"${i + 1}" for i in range(len(conversation_ids)))
        rows = await self.db.fetch(
            f"SELECT DISTINCT conversation_id FROM case_record WHERE conversation_id IN ({marks})",
            *conversation_ids,
        )
        return {r["conversation_id"] for r in rows}

    async def visitor_email(self, conversation_id: str) -> str | None:
        """The address the visitor gave: at the start of the chat (their session), else in
        their latest contact request of this conversation."""
        session_email = await self.db.fetchval(
            "SELECT s.email FROM conversation c JOIN session s ON s.id = c.session_id "
            "WHERE c.id=$1",
            conversation_id,
        )
        if session_email:
            return str(session_email)
        found = await self.db.fetchval(
            "SELECT email FROM contact_request WHERE conversation_id=$1 AND email IS NOT NULL "
            "AND email <> '' ORDER BY created_at DESC LIMIT 1",
            conversation_id,
        )
        return str(found) if found else None
