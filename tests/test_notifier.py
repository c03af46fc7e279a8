"""Long-poll wake-ups (pure asyncio)."""

from __future__ import annotations

import asyncio
import time

from laura_bot.notifier import Notifier
from laura_bot.tasks import KeyedRunner


async def test_notify_wakes_only_that_session() -> None:
    n = Notifier()
    a = asyncio.create_task(n.wait("a", 5))
    b = asyncio.create_task(n.wait("b", 0.3))
    await asyncio.sleep(0.05)
    assert n.waiting == 2
    n.notify("a")
    await asyncio.wait_for(a, 1)
    assert not b.done()
    start = time.monotonic()
    await b  # times out by itself
    assert time.monotonic() - start < 1
    assert n.waiting == 0


async def test_wake_all_answers_every_poll_at_once() -> None:
    n = Notifier()
    polls = [asyncio.create_task(n.wait(s, 30)) for s in ("a", "b", "c")]
    await asyncio.sleep(0.05)
    n.wake_all()
    await asyncio.wait_for(asyncio.gather(*polls), 1)
    assert n.waiting == 0


async def test_keyed_runner_reruns_when_kicked_and_retries_failures() -> None:
    calls: list[str] = []
    fail_once = {"x"}

    async def work(key: str) -> None:
        calls.append(key)
        if key in fail_once:
            fail_once.discard(key)
            raise RuntimeError("transient")
        await asyncio.sleep(0.05)

    runner = KeyedRunner("test", work)
    runner.kick("a")
    runner.kick("a")  # before it started: the same run
    runner.kick("x")
    await asyncio.sleep(0.01)
    runner.kick("a")  # while it runs: one more run afterwards, never two at once
    await runner.idle(5)
    assert calls.count("a") == 2
    assert calls.count("x") == 2  # failed once, retried after the backoff
    await runner.close()
    runner.kick("a")
    assert calls.count("a") == 2  # closed: no more work
