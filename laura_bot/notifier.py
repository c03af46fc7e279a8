"""Wakes long polls when a session gets new events (single process)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        # Parts that follow a session's events besides its long polls (monitoring).
        self.listeners: list[Callable[[str], None]] = []

    def notify(self, session_id: str) -> None:
        for listener in self.listeners:
            listener(session_id)
        for fut in self._waiters.pop(session_id, set()):
            if not fut.done():
                fut.set_result(None)

    def wake_all(self) -> None:
        """At shutdown: answer every open long poll now instead of at its timeout."""
        for session_id in list(self._waiters):
            self.notify(session_id)

    async def wait(self, session_id: str, timeout: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[session_id].add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            waiters = self._waiters.get(session_id)
            if waiters is not None:
                waiters.discard(fut)
                if not waiters:
                    self._waiters.pop(session_id, None)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())
