"""A keyed task runner: one task per key, re-run when kicked again, retried with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("laura.tasks")


class KeyedRunner:
    def __init__(
        self, name: str, fn: Callable[[str], Awaitable[None]], max_delay: float = 30.0
    ) -> None:
        self.name = name
        self.fn = fn
        self.max_delay = max_delay
        self._dirty: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def kick(self, key: str) -> None:
        if self._closed:
            return
        self._dirty.add(key)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"{self.name}:{key}")

    async def _run(self, key: str) -> None:
        delay = 0.5
        try:
            while key in self._dirty and not self._closed:
                self._dirty.discard(key)
                try:
                    await self.fn(key)
                    delay = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning(
                        "%s for %s failed; retrying in %.1fs", self.name, key, delay, exc_info=True
                    )
                    self._dirty.add(key)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_delay)
        finally:
            self._tasks.pop(key, None)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no task is running (used by graceful shutdown and tests)."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
