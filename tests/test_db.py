"""Storage on SQLite and PostgreSQL: migrations, gap-free seq, races decided by the database."""

from __future__ import annotations

import asyncio

import pytest

from laura_bot.db import Store, create_database
from laura_bot.db.conversations import Status


async def _session_with_conversation(store: Store, sid: str = "s1") -> str:
    async with store.db.acquire() as conn, conn.transaction():
        await store.sessions.create(conn, sid, "hash", "Piet", None, "nl", f"g{sid}")
        await store.conversations.create(conn, f"c-{sid}", sid)
    return f"c-{sid}"


async def test_migrations_are_idempotent(db_url: str) -> None:
    for _ in range(2):
        db = create_database(db_url)
        await db.start()
        assert await db.table_exists("inbox")
        await db.stop()


async def test_seq_has_no_gaps_even_when_a_transaction_fails(store: Store) -> None:
    conv = await _session_with_conversation(store)
    for i in range(3):
        async with store.db.acquire() as conn, conn.transaction():
            await store.events.append(conn, "s1", conv, "message", sender="visitor", body=str(i))
    with pytest.raises(RuntimeError):
        async with store.db.acquire() as conn, conn.transaction():
            await store.events.append(conn, "s1", conv, "message", body="rolled back")
            raise RuntimeError("boom")
    async with store.db.acquire() as conn, conn.transaction():
        await store.events.append(conn, "s1", conv, "message", body="after")
    events = await store.events.after("s1", 0)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.body for e in events] == ["0", "1", "2", "after"]


async def test_client_txn_id_unique_per_session(store: Store) -> None:
    conv = await _session_with_conversation(store)
    async with store.db.acquire() as conn, conn.transaction():
        await store.events.append(conn, "s1", conv, "message", client_txn_id="t1")
    with pytest.raises(Exception):  # noqa: B017 - the driver's unique violation
        async with store.db.acquire() as conn, conn.transaction():
            await store.events.append(conn, "s1", conv, "message", client_txn_id="t1")
    assert await store.events.seq_for_client_txn("s1", "t1") == 1
    conv2 = await _session_with_conversation(store, "s2")
    async with store.db.acquire() as conn, conn.transaction():
        await store.events.append(conn, "s2", conv2, "message", client_txn_id="t1")
    assert [e.seq for e in await store.events.after("s1", 0)] == [1]


async def test_outbox_pending_and_sent(store: Store) -> None:
    conv = await _session_with_conversation(store)
    async with store.db.acquire() as conn, conn.transaction():
        await store.events.append(conn, "s1", conv, "message", body="a", to_matrix=True)
        await store.events.append(conn, "s1", conv, "status", data={"status": "waiting"})
        await store.events.append(conn, "s1", conv, "message", body="b", to_matrix=True)
    pending = await store.events.pending_for(conv)
    assert [e.body for e in pending] == ["a", "b"]
    assert len({e.mx_txn_id for e in pending}) == 2  # one stored txn id per message
    await store.events.mark_sent("s1", pending[0].seq, "$a")
    assert [e.body for e in await store.events.pending_for(conv)] == ["b"]
    assert await store.events.has_mx_event("$a")


async def test_concurrent_claims_one_winner(store: Store) -> None:
    conv = await _session_with_conversation(store)
    async with store.db.acquire() as conn, conn.transaction():
        assert await store.conversations.transition(conn, conv, (Status.CHOOSING,), Status.WAITING)

    async def claim(user: str) -> bool:
        async with store.db.acquire() as conn, conn.transaction():
            return await store.conversations.claim(conn, conv, user, user)

    results = await asyncio.gather(*(claim(f"@u{i}:x") for i in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    row = await store.conversations.get_by_id(conv)
    assert row and row.status == "connected" and row.taker == f"@u{results.index(True)}:x"


async def test_transition_only_from_expected_states(store: Store) -> None:
    conv = await _session_with_conversation(store)
    async with store.db.acquire() as conn, conn.transaction():
        assert not await store.conversations.transition(
            conn, conv, (Status.WAITING,), Status.CONTACT
        )
        assert await store.conversations.transition(
            conn, conv, (Status.CHOOSING,), Status.WAITING, department_id="d"
        )
    row = await store.conversations.get_by_id(conv)
    assert row and row.status == Status.WAITING and row.department_id == "d"


async def test_inbox_dedupes_on_event_id(store: Store) -> None:
    evt = {"event_id": "$e1", "room_id": "!r", "type": "m.room.message", "content": {}}
    assert await store.inbox.add_many([evt, {**evt, "event_id": "$e2"}]) == 2
    assert await store.inbox.add_many([evt]) == 0
    assert await store.inbox.count("$e1") == 1
    assert [e.event_id for e in await store.inbox.pending_in("!r")] == ["$e1", "$e2"]
    await store.inbox.mark_handled("$e1")
    assert [e.event_id for e in await store.inbox.pending_in("!r")] == ["$e2"]
    assert await store.inbox.rooms_with_pending() == ["!r"]


async def test_inbox_order_retries_and_dead_letters(store: Store) -> None:
    def evt(event_id: str, room: str, ts: int) -> dict:
        return {
            "event_id": event_id,
            "room_id": room,
            "type": "m.reaction",
            "sender": "@a:x",
            "origin_server_ts": ts,
            "content": {"body": "GEHEIM-inhoud"},
        }

    # A late arrival (caught up after the homeserver failed to push it) goes by its time.
    await store.inbox.add_many([evt("$b", "!r", 20), evt("$other", "!s", 5)])
    await store.inbox.add_many([evt("$a", "!r", 10)])
    assert [e.event_id for e in await store.inbox.pending_in("!r")] == ["$a", "$b"]
    assert sorted(await store.inbox.rooms_with_pending()) == ["!r", "!s"]
    await store.inbox.retry_later("$a", 1, 12345)
    [first, _] = await store.inbox.pending_in("!r")
    assert (first.attempts, first.next_attempt_at) == (1, 12345)
    await store.inbox.move_aside("$a", 3, "RuntimeError at x.py:1 in f")
    assert [e.event_id for e in await store.inbox.pending_in("!r")] == ["$b"]
    [dead] = await store.inbox.dead_letters()
    assert (dead.event_id, dead.type, dead.sender, dead.attempts) == (
        "$a",
        "m.reaction",
        "@a:x",
        3,
    )
    assert dead.reason == "RuntimeError at x.py:1 in f" and "GEHEIM" not in repr(dead)
    assert await store.inbox.count_dead() == 1
    assert await store.inbox.revive(dead.seq) == "!r"
    assert await store.inbox.revive(dead.seq) is None  # no longer dead
    [again, _] = await store.inbox.pending_in("!r")
    assert (again.event_id, again.attempts, again.next_attempt_at) == ("$a", 0, None)


async def test_send_ledger_notes_each_txn_once(store: Store) -> None:
    assert await store.sends.note("laura.t1", "!r") == (False, None)
    assert await store.sends.note("laura.t1", "!r") == (True, None)  # look before resending
    await store.sends.confirm("laura.t1", "$sent")
    assert await store.sends.note("laura.t1", "!r") == (True, "$sent")  # no resend at all
    assert await store.sends.note("laura.t2", "!r") == (False, None)
    await store.sends.prune(older_than_ms=2**62)
    assert await store.sends.note("laura.t1", "!r") == (False, None)


async def test_dispatch_answers_and_withdrawal(store: Store) -> None:
    conv = await _session_with_conversation(store)
    assert await store.answers.add(conv, "@a:x", "decline", "$r1")
    assert await store.answers.add(conv, "@b:x", "decline", "$r2")
    assert await store.answers.decliners(conv) == {"@a:x", "@b:x"}
    assert await store.answers.withdraw("$r1") == (conv, "@a:x", "decline")
    assert await store.answers.withdraw("$r1") is None
    assert await store.answers.decliners(conv) == {"@b:x"}
    assert await store.answers.add(conv, "@a:x", "decline", "$r3")
    assert await store.answers.decliners(conv) == {"@a:x", "@b:x"}


async def test_departments_and_settings(store: Store) -> None:
    assert await store.departments.add("ggz", "GGZ")
    assert not await store.departments.add("ggz", "Again")
    assert await store.departments.deactivate("ggz")
    assert await store.departments.all_active() == []
    assert await store.departments.add("ggz", "GGZ opnieuw")
    assert [d.label for d in await store.departments.all_active()] == ["GGZ opnieuw"]
    await store.settings.set("k", "1")
    await store.settings.set("k", "2")
    assert await store.settings.get("k") == "2"


async def test_command_runs_are_recorded_once(store: Store) -> None:
    assert await store.commands.start("$c1", "!control") == (True, None)
    assert await store.commands.start("$c1", "!control") == (False, None)  # stopped half-way
    await store.commands.finish("$c1", "Afdeling ggz is toegevoegd")
    assert await store.commands.start("$c1", "!control") == (False, "Afdeling ggz is toegevoegd")
    await store.commands.sent("$c1")
    assert await store.commands.start("$c1", "!control") == (False, "")  # answered: nothing left
    await store.commands.prune(older_than_ms=2**62)
    assert await store.commands.start("$c1", "!control") == (True, None)
