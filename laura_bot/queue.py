"""Each department's queue in memory, rebuilt from the database: a visitor's place is computed
when asked (a dict and a bisect, not a query over the whole queue), one refresh at a time per
department tells those whose place changed (a few hundred to a transaction, off the request
path), and one timer per department repeats everyone's place every queue_update_interval.

Laura is one process, and every move in or out of a queue goes through Conversations, which
tells this index after its transaction; the database stays the truth (a refresh writes only to
chats the database says still wait) and the index is rebuilt from it after a restart.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import defaultdict
from typing import Any

from .db import Store
from .db.base import transaction
from .notifier import Notifier
from .scheduler import Clock
from .settings import Settings
from .tasks import KeyedRunner
from .util import now_ms

log = logging.getLogger(__name__)
CHUNK = 500  # queue events written per transaction (others may write in between)


class Queues:
    def __init__(self, store: Store, settings: Settings, notifier: Notifier, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.runner = KeyedRunner("queue", self._refresh)
        self._order: dict[str, list[tuple[int, str]]] = {}  # department → (queued_at, conv)
        self._entry: dict[
            str, tuple[str, int, str]
        ] = {}  # conv → (department, queued_at, session)
        self._told: dict[str, int] = {}  # conv → the place the visitor was last told
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._ticking: set[str] = set()

    async def _load(self, department_id: str) -> list[tuple[int, str]]:
        """The department's queue, read from the database the first time it is needed."""
        order = self._order.get(department_id)
        if order is not None:
            return order
        waiting = await self.store.conversations.waiting_in(department_id)
        order = []
        for c in waiting:
            order.append((c.queued_at or 0, c.id))
            self._entry[c.id] = (department_id, c.queued_at or 0, c.session_id)
            if c.last_position is not None:
                self._told.setdefault(c.id, c.last_position)
        order.sort()
        self._order[department_id] = order
        return order

    async def add(self, department_id: str, conv_id: str, session_id: str, queued_at: int) -> None:
        async with self._locks[department_id]:
            order = await self._load(department_id)
            if conv_id not in self._entry:
                bisect.insort(order, (queued_at, conv_id))
                self._entry[conv_id] = (department_id, queued_at, session_id)
        await self._arm(department_id)
        self.runner.kick(department_id)

    async def remove(self, department_id: str, conv_id: str) -> None:
        async with self._locks[department_id]:
            order = await self._load(department_id)
            entry = self._entry.pop(conv_id, None)
            self._told.pop(conv_id, None)
            if entry is not None:
                i = bisect.bisect_left(order, (entry[1], conv_id))
                if i < len(order) and order[i][1] == conv_id:
                    del order[i]
        self.runner.kick(department_id)

    async def position(self, department_id: str, conv_id: str) -> int | None:
        async with self._locks[department_id]:
            order = await self._load(department_id)
        entry = self._entry.get(conv_id)
        if entry is None:
            return None
        i = bisect.bisect_left(order, (entry[1], conv_id))
        return i + 1 if i < len(order) and order[i][1] == conv_id else None

    def kick(self, department_id: str) -> None:
        self.runner.kick(department_id)

    async def _refresh(self, department_id: str) -> None:
        """Tell every visitor of the department whose place changed their new place."""
        async with self._locks[department_id]:
            order = await self._load(department_id)
            changed = [
                (conv_id, place)
                for place, (_, conv_id) in enumerate(order, start=1)
                if self._told.get(conv_id) != place
            ]
        if not changed:
            return
        # Every chunk is written before anyone is woken: a woken reader's write holds the
        # event loop, and each database answer waits for a turn of it (with 500 readers
        # woken between chunks, each of a chunk's statements waited for a long turn).
        heard: list[tuple[str, dict[str, Any]]] = []
        try:
            for start in range(0, len(changed), CHUNK):
                chunk = changed[start : start + CHUNK]
                rows, places = [], {}
                async with transaction(self.store.db) as conn:
                    # Only to chats the database says still wait (one left just now, before
                    # the index heard of it, is not told a place after being taken).
                    still = await self.store.conversations.still_waiting(
                        conn, [c for c, _ in chunk]
                    )
                    for conv_id, place in chunk:
                        entry = self._entry.get(conv_id)
                        if entry is None or conv_id not in still or entry[2] in places:
                            continue  # left meanwhile (or, never seen, a second chat of a session)
                        rows.append((entry[2], conv_id, {"position": place}))
                        places[conv_id] = place
                        places[entry[2]] = place
                    told = await self.store.events.append_many(conn, "queue", rows)
                for session_id, conv_id, _ in rows:
                    event = told.get(session_id)
                    if event is None:
                        continue  # the session is gone
                    if conv_id in self._entry:
                        self._told[conv_id] = places[conv_id]
                    heard.append((session_id, event))
        finally:
            # Each reader gets its event with the wake-up: a round reads nothing back.
            for session_id, event in heard:
                self.notifier.notify(session_id, [event])

    async def _arm(self, department_id: str) -> None:
        if department_id in self._ticking:
            return
        self._ticking.add(department_id)
        interval = await self.settings.seconds("queue_update_interval")
        self.clock.at(
            f"queue:{department_id}", now_ms() + int(interval * 1000), self.tick, department_id
        )

    async def tick(self, department_id: str) -> None:
        """Every queue_update_interval: everyone waiting hears their place again."""
        self._ticking.discard(department_id)
        async with self._locks[department_id]:
            order = await self._load(department_id)
            for _, conv_id in order:
                self._told.pop(conv_id, None)
        if order:
            self.runner.kick(department_id)
            await self._arm(department_id)

    async def restore(self, department_ids: list[str]) -> None:
        for department_id in department_ids:
            async with self._locks[department_id]:
                order = await self._load(department_id)
            if order:
                await self._arm(department_id)
                self.runner.kick(department_id)

    async def idle(self, timeout: float = 5) -> None:
        await self.runner.idle(timeout=timeout)

    async def close(self) -> None:
        for department_id in list(self._ticking):
            self.clock.cancel(f"queue:{department_id}")
        self._ticking.clear()
        await self.runner.idle(timeout=5)
        await self.runner.close()
