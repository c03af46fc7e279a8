"""A keyed task runner: one task per key, re-run when kicked again, retried with backoff."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from .faults import describe, is_transient

log = logging.getLogger(__name__)


class Kick(Protocol):
    """KeyedRunner.kick, as handed to the parts that ask for a run."""

    def __call__(self, key: str, urgent: bool = False) -> None: ...


class Slots:
    """A semaphore whose urgent waiters go first: a message in a running chat does not wait
    behind a thousand arrivals' requests (each kept in order among its own kind)."""

    def __init__(self, n: int) -> None:
        self.free = n
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )

    async def acquire(self, urgent: bool) -> None:
        if self.free > 0 and not any(self._waiting):
            self.free -= 1
            return
        fut = asyncio.get_running_loop().create_future()
        line = self._waiting[0 if urgent else 1]
        line.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            else:
                try:
                    line.remove(fut)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        for line in self._waiting:
            while line:
                fut = line.popleft()
                if not fut.done():
                    fut.set_result(None)  # the slot goes straight to this waiter
                    return
        self.free += 1


class KeyedRunner:
    def __init__(
        self,
        name: str,
        fn: Callable[[str], Awaitable[None]],
        max_delay: float = 30.0,
        on_transient: Callable[[], None] | None = None,
        limit: int | None = None,
    ) -> None:
        """limit: at most this many keys run at once; the others wait their turn (thousands
        of conversations syncing at once would only queue up in the HTTP pool and time out)."""
        self.name = name
        self._slots = Slots(limit) if limit else None
        self.fn = fn
        self.max_delay = max_delay
        self.on_transient = on_transient
        self._dirty: set[str] = set()
        self._urgent: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._later: dict[str, asyncio.TimerHandle] = {}
        self._closed = False

    def kick(self, key: str, urgent: bool = False) -> None:
        """Run fn(key) (again); urgent: ahead of the others waiting for a slot."""
        if self._closed:
            return
        self._dirty.add(key)
        if urgent:
            self._urgent.add(key)
        if key not in self._tasks:
            # A fresh context: a kick from inside a transaction must not hand the task that
            # transaction's database connection (mautrix keeps it in a context variable).
            self._tasks[key] = asyncio.create_task(
                self._run(key), name=f"{self.name}:{key}", context=contextvars.Context()
            )

    def kick_later(self, key: str, delay: float) -> None:
        """kick(key) in `delay` seconds (once, however often asked meanwhile)."""
        if self._closed or key in self._later:
            return

        def fire() -> None:
            self._later.pop(key, None)
            self.kick(key)

        self._later[key] = asyncio.get_running_loop().call_later(delay, fire)

    async def _run(self, key: str) -> None:
        delay = 0.5
        try:
            while key in self._dirty and not self._closed:
                self._dirty.discard(key)
                try:
                    if self._slots is None:
                        await self.fn(key)
                    else:
                        urgent = key in self._urgent
                        self._urgent.discard(key)
                        await self._slots.acquire(urgent)
                        try:
                            await self.fn(key)
                        finally:
                            self._slots.release()
                    delay = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    if is_transient(e):  # the homeserver or database is away: no traceback
                        if self.on_transient:
                            self.on_transient()
                        log.warning(
                            "%s for %s failed (%s); retrying in %.1fs",
                            self.name,
                            key,
                            describe(e),
                            delay,
                        )
                    else:
                        log.warning(
                            "%s for %s failed; retrying in %.1fs",
                            self.name,
                            key,
                            delay,
                            exc_info=True,
                        )
                    self._dirty.add(key)
                    wake = self._wake[key] = asyncio.Event()
                    try:
                        await asyncio.wait_for(wake.wait(), delay)
                    except TimeoutError:
                        pass
                    delay = min(delay * 2, self.max_delay)
        finally:
            self._tasks.pop(key, None)
            self._wake.pop(key, None)
            self._urgent.discard(key)

    def wake_all(self) -> None:
        """Cut every back-off short (the homeserver is back)."""
        for wake in list(self._wake.values()):
            wake.set()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no task is running (used by graceful shutdown and tests)."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def close(self) -> None:
        self._closed = True
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
