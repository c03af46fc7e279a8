from __future__ import annotations

from mautrix.util.async_db import Database


class CannedStore:
    """Canned responses (filled in by the canned-responses work)."""

    def __init__(self, db: Database) -> None:
        self.db = db
