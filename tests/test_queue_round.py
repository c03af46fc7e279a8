"""A round of queue updates over the database (SQLite and PostgreSQL), without Synapse: every
reader is woken only once every chunk is written, and one that fails still wakes the readers
whose events were written before it; and the server process's collector settings, which keep
a full collection out of such a round."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from laura_bot import queue as queue_module
from laura_bot.db import Store
from laura_bot.notifier import Notifier
from laura_bot.queue import Queues


async def _waiting(store: Store, n: int) -> None:
    """n visitors waiting in department d1, s0 first."""
    async with store.db.acquire() as conn:
        for i in range(n):
            await conn.execute(
                "INSERT INTO session (id, token_hash, language, ghost_id, created_at) "
                "VALUES ($1, 'h', 'nl', $2, 1)",
                f"s{i}",
                f"@g{i}:x",
            )
            await conn.execute(
                "INSERT INTO conversation (id, session_id, status, department_id, created_at, "
                "queued_at) VALUES ($1, $2, 'waiting', 'd1', 1, $3)",
                f"c{i}",
                f"s{i}",
                100 + i,
            )


class Recorder(Notifier):
    """Notes each wake-up and how many queue events the database held at that moment."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.woken: list[tuple[str, list[dict[str, Any]] | None]] = []

    def notify(self, session_id: str, events: list[dict[str, Any]] | None = None) -> None:
        self.woken.append((session_id, events))
        super().notify(session_id, events)


async def _five_in_chunks_of_two(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> tuple[Recorder, Queues, Any]:
    """Five waiting, rounds written two to a transaction; the real append_many."""
    monkeypatch.setattr(queue_module, "CHUNK", 2)
    await _waiting(store, 5)
    notifier = Recorder(store)
    queues = Queues(store, None, notifier, None)  # type: ignore[arg-type]
    return notifier, queues, store.events.append_many


async def _stored(store: Store) -> dict[str, list[int]]:
    rows = await store.db.fetch("SELECT session_id, seq, data FROM event WHERE type='queue'")
    out: dict[str, list[int]] = {}
    for r in rows:
        out.setdefault(r["session_id"], []).append(int(r["seq"]))
    return out


async def test_a_round_wakes_readers_only_after_every_chunk_is_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier, queues, real = await _five_in_chunks_of_two(store, monkeypatch)
    chunks: list[int] = []

    async def counting(conn: Any, type: str, rows: Any) -> Any:
        # No reader may have been woken while chunks are still being written.
        assert notifier.woken == [], "a reader was woken before the round was written"
        chunks.append(len(rows))
        return await real(conn, type, rows)

    monkeypatch.setattr(store.events, "append_many", counting)
    await queues._refresh("d1")
    assert chunks == [2, 2, 1]
    assert [s for s, _ in notifier.woken] == [f"s{i}" for i in range(5)]
    stored = await _stored(store)
    for i, (session_id, events) in enumerate(notifier.woken):
        # Each reader gets its own event with the wake-up, as stored.
        assert events is not None and len(events) == 1
        assert events[0]["position"] == i + 1
        assert stored[session_id] == [events[0]["seq"]]
    # A second round with nothing changed writes and wakes nothing.
    notifier.woken.clear()
    await queues._refresh("d1")
    assert notifier.woken == []


async def test_a_failed_chunk_still_wakes_the_readers_written_before_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier, queues, real = await _five_in_chunks_of_two(store, monkeypatch)
    calls = 0

    async def failing_second(conn: Any, type: str, rows: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk is full")
        return await real(conn, type, rows)

    monkeypatch.setattr(store.events, "append_many", failing_second)
    with pytest.raises(RuntimeError):
        await queues._refresh("d1")
    # The first chunk was committed: its readers hear their place; the rest wrote nothing.
    assert [s for s, _ in notifier.woken] == ["s0", "s1"]
    assert set(await _stored(store)) == {"s0", "s1"}
    # The next round (the runner retries a failure) tells the others, and only them.
    notifier.woken.clear()
    monkeypatch.setattr(store.events, "append_many", real)
    await queues._refresh("d1")
    assert [s for s, _ in notifier.woken] == ["s2", "s3", "s4"]
    assert [e[0]["position"] for _, e in notifier.woken if e] == [3, 4, 5]


def test_the_server_process_tunes_its_collector() -> None:
    """`laura run` freezes what start-up made and collects young objects after 50,000 (a
    full collection at 10,000 waiting stopped a round for a second): checked in a process of
    its own, so this test run's collector is left as it is."""
    code = (
        "import gc; from laura_bot.__main__ import tune_gc; tune_gc(); "
        "print(gc.get_threshold(), gc.get_freeze_count() > 1000)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split("\n")[0] == "(50000, 20, 10) True", out
