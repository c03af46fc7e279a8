from __future__ import annotations

from mautrix.util.async_db import Database


class CaseStore:
    """Cases (filled in by the cases work)."""

    def __init__(self, db: Database) -> None:
        self.db = db
