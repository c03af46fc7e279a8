"""What a visitor hears: a long poll or an event stream over their session's events, woken
by the notifier, which hands over what it carries (a queue round reaches thousands of
listeners without a read each)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..db import Store
from ..db.sessions import Session
from ..notifier import Notifier


class EventStreams:
    def __init__(self, store: Store, notifier: Notifier) -> None:
        self.store = store
        self.notifier = notifier

    async def events(self, session: Session, after: int, timeout: float) -> tuple[list, int]:
        """A long poll: what came after the cursor, waiting up to timeout for something."""
        with self.notifier.watch(session.id) as watch:  # before the read: no notify is missed
            events = await self.store.events.after(session.id, after)
            if not events and timeout > 0 and await watch.wait(timeout) and not watch.closed:
                fresh = watch.take(after)
                if fresh:
                    return fresh, int(fresh[-1]["seq"])
                events = await self.store.events.after(session.id, after)
        nxt = events[-1].seq if events else after
        return [e.to_api() for e in events], nxt

    async def stream(
        self,
        session: Session,
        after: int,
        send: Callable[[list[dict[str, Any]], int], Awaitable[None]],
        duration: float,
        keepalive: Callable[[], Awaitable[None]],
        keepalive_every: float = 20,
    ) -> None:
        """An event stream: send(events, next) at once with what came after the cursor (even
        if nothing did), then each time something new comes, for duration seconds; keepalive()
        when nothing came for keepalive_every. The events a notify carries are sent without
        reading the database (a queue round reaches thousands of streams)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        cursor, read, first = after, True, True
        with self.notifier.watch(session.id) as watch:
            while not watch.closed:
                while read:
                    events = await self.store.events.after(session.id, cursor)
                    if events or first:
                        cursor = events[-1].seq if events else cursor
                        await send([e.to_api() for e in events], cursor)
                        first = False
                    read = len(events) >= 200  # a page: read on
                left = deadline - loop.time()
                if left <= 0:
                    return
                if not await watch.wait(min(keepalive_every, left)):
                    if deadline - loop.time() > 0:
                        await keepalive()
                    continue
                if watch.closed:
                    return
                fresh = watch.take(cursor)
                if fresh is None:
                    read = True
                elif fresh:
                    cursor = int(fresh[-1]["seq"])
                    await send(fresh, cursor)
