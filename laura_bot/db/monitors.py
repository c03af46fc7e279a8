from __future__ import annotations

from mautrix.util.async_db import Database


class MonitorStore:
    """Monitoring sessions (filled in by the monitoring work)."""

    def __init__(self, db: Database) -> None:
        self.db = db
