"""The state store's memory of power levels and create events (SQLite and PostgreSQL), without
Synapse: the check mautrix makes before every send is answered without the database once a
room is known, what it answers matches the table, and a room deleted, pushed out or changed
is read again."""

from __future__ import annotations

from typing import Any

import pytest
from mautrix.types import EventType, PowerLevelStateEventContent, RoomID, StateEvent, UserID

from laura_bot.db import Store
from laura_bot.matrix.state_store import StateStore

ROOM = RoomID("!consult:x")
BOT = UserID("@laura:x")
GHOST = UserID("@ghost:x")
MESSAGE = EventType.ROOM_MESSAGE


def _levels(ghost_level: int = 0) -> PowerLevelStateEventContent:
    return PowerLevelStateEventContent.deserialize(
        {
            "users": {BOT: 100, GHOST: ghost_level},
            "events": {"m.room.message": 0},
            "events_default": 50,
            "state_default": 50,
            "users_default": 0,
        }
    )


def _create(room: RoomID = ROOM) -> StateEvent:
    return StateEvent.deserialize(
        {
            "type": "m.room.create",
            "room_id": room,
            "sender": BOT,
            "state_key": "",
            "event_id": "$create",
            "origin_server_ts": 1,
            "content": {"room_version": "10"},
        }
    )


class Counting(StateStore):
    """Counts the reads that reach the table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0
        real = self.db.fetchval

        async def fetchval(*a: Any, **kw: Any) -> Any:
            self.reads += 1
            return await real(*a, **kw)

        self.db = _Proxy(self.db, fetchval)


class _Proxy:
    def __init__(self, db: Any, fetchval: Any) -> None:
        self._db, self.fetchval = db, fetchval

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


async def _state_store(store: Store, **kwargs: Any) -> Counting:
    ss = Counting(store.db, **kwargs)
    await ss.upgrade_table.upgrade(store.db)
    return ss


async def _row_gone(store: Store, room: RoomID = ROOM) -> None:
    await store.db.execute("DELETE FROM mx_room_state WHERE room_id=$1", room)


async def test_a_known_room_is_checked_without_the_database(store: Store) -> None:
    ss = await _state_store(store)
    await ss.set_power_levels(ROOM, _levels())
    await ss.set_create(_create())
    ss.reads = 0
    for _ in range(3):  # what IntentAPI._ensure_has_power_level_for asks, in its order
        assert await ss.has_power_levels_cached(ROOM)
        assert await ss.has_create_cached(ROOM)
        assert await ss.has_power_level(ROOM, GHOST, MESSAGE)
    assert ss.reads == 0
    # The table is the record: a fresh store (a restart) answers the same from it.
    fresh = await _state_store(store)
    assert await fresh.has_power_level(ROOM, GHOST, MESSAGE)
    assert (await fresh.get_power_levels(ROOM)) == _levels()
    assert fresh.reads == 2  # the levels and the create event, once each
    assert await fresh.has_power_levels_cached(ROOM) and await fresh.has_create_cached(ROOM)
    assert fresh.reads == 2


async def test_answers_follow_the_levels_written(store: Store) -> None:
    ss = await _state_store(store)
    await ss.set_power_levels(ROOM, _levels())
    assert not await ss.has_power_level(ROOM, GHOST, EventType.ROOM_NAME)  # state: 50
    # New levels (as a power-levels event from the homeserver), given as a plain dict too.
    await ss.set_power_levels(ROOM, _levels(ghost_level=50).serialize())
    assert await ss.has_power_level(ROOM, GHOST, EventType.ROOM_NAME)
    assert await StateStore(store.db).has_power_level(ROOM, GHOST, EventType.ROOM_NAME)


async def test_what_a_caller_gets_is_a_copy(store: Store) -> None:
    ss = await _state_store(store)
    await ss.set_power_levels(ROOM, _levels())
    got = await ss.get_power_levels(ROOM)
    assert got is not None
    got.events[MESSAGE] = 100  # changed to send new levels, and the send then failed
    assert await ss.has_power_level(ROOM, GHOST, MESSAGE)
    given = _levels()
    await ss.set_power_levels(ROOM, given)
    given.events[MESSAGE] = 100
    assert await ss.has_power_level(ROOM, GHOST, MESSAGE)
    create = await ss.get_create(ROOM)
    assert create is None  # never set: nothing made up


async def test_a_deleted_room_is_forgotten(store: Store) -> None:
    ss = await _state_store(store)
    await ss.set_power_levels(ROOM, _levels())
    await ss.set_create(_create())
    await _row_gone(store)  # the chat's deletion removes its rows...
    assert await ss.has_power_levels_cached(ROOM)  # ...which memory still holds
    ss.forget_room(ROOM)  # until the eraser deletes the room
    assert not await ss.has_power_levels_cached(ROOM)
    assert not await ss.has_create_cached(ROOM)
    assert await ss.has_power_level(ROOM, GHOST, MESSAGE) is None


async def test_only_the_most_recent_rooms_are_kept(store: Store) -> None:
    ss = await _state_store(store, max_rooms=2)
    rooms = [RoomID(f"!r{i}:x") for i in range(3)]
    for room in rooms:
        await ss.set_power_levels(room, _levels())
    assert ss.rooms_kept() == 2
    ss.reads = 0
    assert await ss.has_power_levels_cached(rooms[2])
    assert ss.reads == 0
    assert await ss.has_power_level(rooms[0], GHOST, MESSAGE)  # pushed out: read again
    assert ss.reads >= 1
    assert ss.rooms_kept() == 2


async def test_a_failed_write_leaves_nothing_new_in_memory(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ss = await _state_store(store)
    await ss.set_power_levels(ROOM, _levels())

    async def broken(*_a: Any, **_kw: Any) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(ss.db, "execute", broken, raising=False)
    with pytest.raises(ConnectionError):
        await ss.set_power_levels(ROOM, _levels(ghost_level=50))
    monkeypatch.undo()
    # What the table holds (the old levels) is what the store answers.
    assert not await ss.has_power_level(ROOM, GHOST, EventType.ROOM_NAME)
