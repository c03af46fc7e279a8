"""The in-process clock (APScheduler 3). The database holds every deadline; this only wakes us.

Jobs are rebuilt from the database at start-up, so a restart loses no timer. A job that fails
is logged, never silently dropped.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Clock:
    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def at(self, job_id: str, when_ms: int, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run fn(*args) at when_ms (at once when that has passed); replaces a job with that id."""

        async def run() -> None:
            try:
                await fn(*args)
            except Exception:
                log.exception("Scheduled job %s failed", job_id)

        when = datetime.fromtimestamp(when_ms / 1000, tz=UTC)
        # In an empty context: the scheduler's timer (and so the job) would otherwise inherit
        # the caller's context variables, among them mautrix's current database connection,
        # which is back in the pool (PostgreSQL) by the time the job runs.
        contextvars.Context().run(
            self._scheduler.add_job,
            run,
            "date",
            run_date=when,
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def cancel(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id):
            self._scheduler.remove_job(job_id)
