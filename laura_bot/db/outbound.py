"""What happens in Laura, for the world outside: the webhooks' outbox, and the observers (the
metrics) told of each happening.

A happening is recorded in the transaction of the change it reports (`record(conn, …)`), so a
webhook is sent for every committed change and for none that was rolled back; the delivery
(webhooks.py) reads the outbox later and never holds a chat up."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mautrix.util.async_db import Connection, Database

from ..config_ops import Endpoint
from ..util import now_ms, random_id
from .base import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Happening:
    """type: a webhook event type (config_ops.WEBHOOK_EVENTS). data: ids, times, department
    and status, for every endpoint; content: contact details or case notes, only for endpoints
    configured with content: true."""

    type: str
    conversation_id: str | None
    department: str | None
    data: dict[str, Any]
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint: str
    payload: str
    attempts: int
    created_at: int


@dataclass(frozen=True)
class EndpointState:
    endpoint: str
    pending: int
    failed: int
    last_error: str | None
    last_delivered: int | None


# For the metrics only (no endpoint can ask for them: not in config_ops.WEBHOOK_EVENTS).
MESSAGE_FROM_VISITOR = Happening("message.visitor", None, None, {})
MESSAGE_FROM_STAFF = Happening("message.staff", None, None, {})


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


class OutboundStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.endpoints: list[Endpoint] = []
        self.observers: list[Callable[[Happening], None]] = []
        # Set by the delivery: called after a record, to deliver soon.
        self.wake: Callable[[], None] = lambda: None
        self._last = 0  # the time of the latest event recorded

    def _next_time(self) -> int:
        """An event's time: the outbox sends by it, so it keeps the order of recording also
        within one millisecond (each is at least a millisecond after the one before)."""
        self._last = max(now_ms(), self._last + 1)
        return self._last

    async def record(self, conn: Connection | None, happening: Happening) -> None:
        for observe in self.observers:
            try:
                observe(happening)
            except Exception:  # an observer's fault never undoes the change
                log.exception("Observer of %s failed", happening.type)
        now = self._next_time()
        wanted = False
        for endpoint in self.endpoints:
            if happening.type not in endpoint.events:
                continue
            data = happening.data | (happening.content if endpoint.content else {})
            body = {"type": happening.type, "timestamp": iso(now), "data": data}
            await (conn or self.db).execute(
                "INSERT INTO webhook_outbox (id, endpoint, event_type, payload, conversation_id, "
                "created_at, attempts, next_at) VALUES ($1,$2,$3,$4,$5,$6,0,$6)",
                f"msg_{random_id(16)}",
                endpoint.url,
                happening.type,
                json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                happening.conversation_id,
                now,
            )
            wanted = True
        if wanted:
            self.wake()

    async def due(self, endpoint: str, now: int, limit: int = 20) -> list[Delivery]:
        """The endpoint's next events in the order they happened, as far as they are due: an
        event waiting out a retry holds back those after it (one recorded meanwhile too), so
        a receiver gets them in order."""
        rows = await self.db.fetch(
            "SELECT id, endpoint, payload, attempts, created_at, next_at FROM webhook_outbox "
            "WHERE endpoint=$1 AND delivered_at IS NULL AND failed_at IS NULL "
            "ORDER BY created_at, id LIMIT $2",
            endpoint,
            limit,
        )
        out = []
        for r in rows:
            if r["next_at"] > now:
                break
            fields = ("id", "endpoint", "payload", "attempts", "created_at")
            out.append(Delivery(*(r[f] for f in fields)))
        return out

    async def next_due(self, endpoint: str) -> int | None:
        """When the endpoint's oldest event still to deliver is due (the others follow it)."""
        return await self.db.fetchval(
            "SELECT next_at FROM webhook_outbox WHERE endpoint=$1 AND delivered_at IS NULL "
            "AND failed_at IS NULL ORDER BY created_at, id LIMIT 1",
            endpoint,
        )

    async def delivered(self, id: str) -> None:
        await self.db.execute(
            "UPDATE webhook_outbox SET delivered_at=$2, last_error=NULL WHERE id=$1", id, now_ms()
        )

    async def retry_later(self, id: str, attempts: int, at: int, error: str) -> None:
        await self.db.execute(
            "UPDATE webhook_outbox SET attempts=$2, next_at=$3, last_error=$4 WHERE id=$1",
            id,
            attempts,
            at,
            error[:200],
        )

    async def give_up(self, id: str, attempts: int, error: str) -> None:
        await self.db.execute(
            "UPDATE webhook_outbox SET attempts=$2, failed_at=$3, last_error=$4 WHERE id=$1",
            id,
            attempts,
            now_ms(),
            error[:200],
        )

    async def states(self) -> list[EndpointState]:
        """Per endpoint with rows: waiting, given up, the latest error, the latest delivery."""
        rows = await self.db.fetch(
            "SELECT endpoint, "
            "SUM(CASE WHEN delivered_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END) AS p, "
            "SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) AS f, "
            "MAX(delivered_at) AS d FROM webhook_outbox GROUP BY endpoint ORDER BY endpoint"
        )
        out = []
        for r in rows:
            error = await self.db.fetchval(
                "SELECT last_error FROM webhook_outbox WHERE endpoint=$1 AND last_error IS NOT "
                "NULL AND delivered_at IS NULL ORDER BY created_at DESC LIMIT 1",
                r["endpoint"],
            )
            out.append(EndpointState(r["endpoint"], int(r["p"]), int(r["f"]), error, r["d"]))
        return out

    async def backlog(self) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL "
                "AND failed_at IS NULL"
            )
        )

    async def retry_failed(self) -> int:
        """Given-up events go out again (admins: !webhooks retry), with their own ids and a new
        day of tries: after the events waiting now, in the order they happened."""
        async with transaction(self.db) as conn:
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM webhook_outbox WHERE failed_at IS NOT NULL "
                    "ORDER BY created_at, id"
                )
            ]
            for id in ids:
                now = self._next_time()  # the retry's time, a millisecond apart
                await conn.execute(
                    "UPDATE webhook_outbox SET failed_at=NULL, attempts=0, next_at=$2, "
                    "created_at=$2 WHERE id=$1",
                    id,
                    now,
                )
        return len(ids)

    async def prune(self, delivered_before: int) -> None:
        """Delivered events are kept a day (for !webhooks), then deleted."""
        await self.db.execute(
            "DELETE FROM webhook_outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1",
            delivered_before,
        )


def about_chat(type: str, chat_id: str, department: str | None, /, **data: Any) -> Happening:
    """A happening of a chat: its id, department and the time, with `data` (ids, times,
    status) beside them; content goes in Happening.content, never here."""
    return Happening(
        type,
        chat_id,
        department,
        {"chat_id": chat_id, "department": department, "at": iso(now_ms())} | data,
    )
