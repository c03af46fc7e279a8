"""Long-poll wake-ups (pure asyncio)."""

from __future__ import annotations

import asyncio
import time

from laura_bot.notifier import Notifier
from laura_bot.tasks import KeyedRunner


async def _wait(n: Notifier, session_id: str, timeout: float) -> bool:
    with n.watch(session_id) as w:
        return await w.wait(timeout)


async def test_notify_wakes_only_that_session() -> None:
    n = Notifier()
    a = asyncio.create_task(_wait(n, "a", 5))
    b = asyncio.create_task(_wait(n, "b", 0.3))
    await asyncio.sleep(0.05)
    assert n.waiting == 2
    n.notify("a")
    assert await asyncio.wait_for(a, 1) is True
    assert not b.done()
    start = time.monotonic()
    assert await b is False  # times out by itself
    assert time.monotonic() - start < 1
    assert n.waiting == 0


async def test_wake_all_answers_every_poll_at_once() -> None:
    n = Notifier()
    polls = [asyncio.create_task(_wait(n, s, 30)) for s in ("a", "b", "c")]
    await asyncio.sleep(0.05)
    n.wake_all()
    await asyncio.wait_for(asyncio.gather(*polls), 1)
    assert n.waiting == 0
    with n.watch("late") as w:  # after shutdown a new reader does not wait either
        assert w.closed and await asyncio.wait_for(w.wait(30), 1)


async def test_a_notify_before_the_wait_is_kept() -> None:
    """The reader watches before it reads the database: what lands in between is not lost."""
    n = Notifier()
    with n.watch("a") as w:
        n.notify("a")  # while the reader was still reading
        start = time.monotonic()
        assert await w.wait(5) is True
        assert time.monotonic() - start < 0.5


def _ev(seq: int) -> dict:
    return {"seq": seq, "type": "queue", "position": seq}


async def test_take_hands_over_events_only_without_a_gap() -> None:
    n = Notifier()
    with n.watch("a") as w:
        n.notify("a", [_ev(6)])
        n.notify("a", [_ev(5)])  # two quick ones, out of order: both kept, sorted
        assert await w.wait(1)
        assert [e["seq"] for e in w.take(4) or []] == [5, 6]
        n.notify("a", [_ev(8)])  # 7 came without its events: read the database
        assert w.take(6) is None
        n.notify("a", [_ev(8)])
        n.notify("a")  # one without events among them: read the database
        assert w.take(7) is None
        n.notify("a", [_ev(3)])  # already sent: nothing new, nothing to read
        assert w.take(8) == []
        assert await w.wait(0.05) is False  # taken: the next wait waits


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
