"""Wakes a session's long polls and event streams when it gets new events (single process).

Everything that appends to a session's events calls notify(session_id) after its commit. A
caller that knows what it appended may pass those events along (the queue's rounds do): a
reader whose cursor sits right before them sends them without reading the database again.

A reader registers a Watch *before* it reads the database, so a notify that lands between
its read and its wait is not lost; every notify is kept in the watch until the reader takes
it, so two quick ones are never folded into one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Payload = list[dict[str, Any]] | None  # the appended events in API form, or None: read them


class Watch:
    """One reader's view of a session's notifications."""

    def __init__(self) -> None:
        self._items: list[Payload] = []
        self._flag = asyncio.Event()
        self.closed = False

    def _push(self, payload: Payload) -> None:
        self._items.append(payload)
        self._flag.set()

    def close(self) -> None:
        """At shutdown: the reader stops waiting now."""
        self.closed = True
        self._flag.set()

    async def wait(self, timeout: float) -> bool:
        """Until something was notified (True) or the timeout passed (False)."""
        if not self._flag.is_set():
            try:
                # Not wait_for: it runs the wait as a task of its own, and a round wakes
                # thousands of readers at once (one task step each instead of two).
                async with asyncio.timeout(timeout):
                    await self._flag.wait()
            except TimeoutError:
                return False
        return True

    def take(self, cursor: int) -> list[dict[str, Any]] | None:
        """What was notified since the last take: the new events if every notify carried them
        and they follow the cursor without a gap; None when the database must be read."""
        items, self._items = self._items, []
        self._flag.clear()
        if any(p is None for p in items):
            return None
        events = sorted((e for p in items if p for e in p), key=lambda e: int(e["seq"]))
        fresh = [e for e in events if int(e["seq"]) > cursor]
        expected = cursor + 1
        for e in fresh:
            if int(e["seq"]) != expected:
                return None  # something in between came without its events
            expected += 1
        return fresh


class Notifier:
    def __init__(self) -> None:
        self._watches: dict[str, set[Watch]] = defaultdict(set)
        # Parts that follow a session's events besides its readers (monitoring).
        self.listeners: list[Callable[[str], None]] = []
        self.closed = False

    def notify(self, session_id: str, events: Payload = None) -> None:
        for listener in self.listeners:
            listener(session_id)
        for watch in self._watches.get(session_id, ()):
            watch._push(events)

    @contextmanager
    def watch(self, session_id: str) -> Iterator[Watch]:
        w = Watch()
        if self.closed:
            w.close()
        self._watches[session_id].add(w)
        try:
            yield w
        finally:
            watches = self._watches.get(session_id)
            if watches is not None:
                watches.discard(w)
                if not watches:
                    self._watches.pop(session_id, None)

    def end(self, session_id: str) -> None:
        """The session is gone (deleted): its readers stop now, and ask again to hear so."""
        for w in list(self._watches.get(session_id, ())):
            w.close()

    def wake_all(self) -> None:
        """At shutdown: answer every open long poll and end every stream now."""
        self.closed = True
        for watches in list(self._watches.values()):
            for w in list(watches):
                w.close()

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._watches.values())
