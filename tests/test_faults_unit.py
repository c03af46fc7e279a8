"""Failure classification and back-off, without I/O: what is worth retrying for long, and how
failures are named without quoting content."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
from mautrix.errors import MatrixConnectionError, MatrixUnknownRequestError

from laura_bot.faults import describe, is_transient
from laura_bot.matrix.catchup import CatchUp
from laura_bot.matrix.router import MAX_ATTEMPTS, _retry_delay
from laura_bot.tasks import KeyedRunner, Slots


def test_transient_failures() -> None:
    assert is_transient(MatrixConnectionError("down"))
    assert is_transient(aiohttp.ClientConnectionError())
    assert is_transient(ConnectionRefusedError())
    assert is_transient(TimeoutError())
    assert is_transient(MatrixUnknownRequestError(502, "bad gateway"))
    assert is_transient(MatrixUnknownRequestError(429, "slow down"))
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert not is_transient(MatrixUnknownRequestError(403, "forbidden"))
    assert not is_transient(KeyError("body"))
    assert not is_transient(sqlite3.OperationalError("no such table: x"))


def test_describe_names_class_and_place_but_not_the_message() -> None:
    try:
        {}["GEHEIM-sleutel"]  # noqa: B018
    except KeyError as e:
        text = describe(e)
    assert text.startswith("KeyError at test_faults_unit.py:")
    assert "GEHEIM" not in text


def test_retry_delays_are_per_event_and_bounded() -> None:
    assert [_retry_delay(n, False) for n in range(1, MAX_ATTEMPTS)] == [0.2, 1.0]
    transient = [_retry_delay(n, True) for n in range(1, 12)]
    assert transient[0] == 0.5 and transient == sorted(transient) and max(transient) == 30


async def test_keyed_runner_backoff_is_cut_short_when_woken() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def fn(_key: str) -> None:
        calls.append(loop.time())
        if len(calls) < 3:
            raise MatrixConnectionError("down")

    runner = KeyedRunner("t", fn, max_delay=30)
    runner.kick("k")

    async def failed(n: int) -> None:
        """Until the n-th call has failed and its back-off began."""
        while len(calls) < n:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)

    await failed(1)
    runner.wake_all()  # "the homeserver is back": no waiting out the 0.5 s back-off
    await failed(2)
    runner.wake_all()  # nor the 1.5 s after it
    await runner.idle(timeout=5)
    # Unwoken, the third call would come 1.5 s after the first (0.5 s, then 1 s).
    assert len(calls) == 3 and calls[-1] - calls[0] < 1.0
    await runner.close()


async def test_urgent_runs_go_before_waiting_ones() -> None:
    """With every slot taken, a kick marked urgent (a message in a running chat) runs before
    the keys that were waiting already (a thousand arrivals' requests), and the others keep
    their order."""
    gate = asyncio.Event()
    order: list[str] = []

    async def fn(key: str) -> None:
        order.append(key)
        if key == "busy":
            await gate.wait()

    runner = KeyedRunner("t", fn, limit=1)
    runner.kick("busy")
    await asyncio.sleep(0.01)
    for key in ("a1", "a2", "a3"):
        runner.kick(key)
    await asyncio.sleep(0.01)
    runner.kick("chat", urgent=True)
    await asyncio.sleep(0.01)
    assert order == ["busy"]
    gate.set()
    await runner.idle(timeout=5)
    assert order == ["busy", "chat", "a1", "a2", "a3"]
    await runner.close()


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    slots = Slots(1)
    await slots.acquire(False)
    waiter = asyncio.create_task(slots.acquire(True))
    other = asyncio.create_task(slots.acquire(False))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    slots.release()  # to `other`, not to the cancelled one
    await asyncio.wait_for(other, 1)
    slots.release()
    assert slots.free == 1 and not any(slots._waiting)


class _Rooms:
    """CatchUp's surroundings as plain records: what it held, released and read."""

    def __init__(self) -> None:
        self.held = 0
        self.released: list[list[str]] = []
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def rooms(self) -> list[str]:
        self.reads += 1
        await self.gate.wait()
        return []

    async def store(self, events: list[dict[str, object]]) -> int:
        return 0

    def hold(self) -> None:
        self.held += 1

    def release(self, rooms: list[str]) -> None:
        self.released.append(rooms)

    async def back(self) -> None:
        pass


def _catch_up(r: _Rooms) -> CatchUp:
    return CatchUp(None, r.rooms, lambda u: False, r.store, r.hold, r.release, r.back)


async def test_a_gap_in_transactions_is_caught_up_only_while_recovering() -> None:
    r = _Rooms()
    c = _catch_up(r)
    c.transaction("10", True)
    c.transaction("12", True)  # no recovery going on: another appservice's transaction
    await asyncio.sleep(0)
    assert (r.held, r.reads) == (0, 0)
    c.transaction("12", True)  # Synapse resends: its recoverer runs, so losses may follow
    r.gate.clear()
    c.transaction("14", True)
    assert r.held == 1  # at once, before the router hears of transaction 14's events
    await asyncio.sleep(0)
    assert r.reads == 1 and not r.released
    r.gate.set()
    await asyncio.sleep(0.01)
    assert r.released == [[]]
    c.transaction("15", True)  # no gap
    await asyncio.sleep(0.01)
    assert r.reads == 1
    await c.stop()


async def test_the_router_waits_for_the_last_of_overlapping_catch_ups() -> None:
    r = _Rooms()
    c = _catch_up(r)
    r.gate.clear()
    first = asyncio.create_task(c.run())
    await asyncio.sleep(0)
    second = asyncio.create_task(c.run())
    await asyncio.sleep(0)
    assert r.reads == 1  # one at a time
    r.gate.set()
    r.gate = asyncio.Event()  # the second read waits on this one
    await first
    await asyncio.sleep(0.01)
    assert r.reads == 2
    assert not r.released  # the second still reads: events after it must wait
    r.gate.set()
    await second
    assert r.released == [[]]
    c.suspect()  # the homeserver is in doubt: a catch-up alone does not let the router go
    await c.run()
    assert r.released == [[]]
    await c.stop()
