"""mautrix's state store, with each room's power levels and create event kept in memory too.

mautrix's IntentAPI checks, before every message it sends, that the sender may send it: four
reads of the mx_room_state table (power levels cached? create event cached? then both again,
parsed). For a visitor's message those reads stood between the stored message and the
homeserver, each a round trip to the database thread. Here they are answered from memory once
a room's state has been read or written; the table stays the record (it is written first),
so a restart starts from it.

Only Laura writes these tables, from this one process, so what is kept here cannot go stale
behind its back. A room that is deleted is forgotten (forget_room). The store keeps the most
recently used rooms only (MAX_ROOMS): a room not kept is read from the table as before.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

from mautrix.appservice.state_store.asyncpg import PgASStateStore
from mautrix.types import (
    JSON,
    EventType,
    PowerLevelStateEventContent,
    RoomID,
    StateEvent,
    UserID,
)
from mautrix.util.async_db import Database

MAX_ROOMS = 4096
V = TypeVar("V")


class _Recent(Generic[V]):
    """At most `size` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[RoomID, V] = OrderedDict()

    def get(self, key: RoomID) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: RoomID, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    async def get_or_read(
        self, key: RoomID, read: Callable[[RoomID], Awaitable[V | None]]
    ) -> V | None:
        """What is kept, or else what the table holds (kept from then on)."""
        value = self.get(key)
        if value is None:
            value = await read(key)
            if value is not None:
                self.put(key, value)
        return value

    def pop(self, key: RoomID) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def _copy_levels(
    levels: PowerLevelStateEventContent | dict[str, Any],
) -> PowerLevelStateEventContent:
    data = levels.serialize() if isinstance(levels, PowerLevelStateEventContent) else levels
    return PowerLevelStateEventContent.deserialize(cast(JSON, json.loads(json.dumps(data))))


def _copy_create(event: StateEvent) -> StateEvent:
    return StateEvent.deserialize(json.loads(json.dumps(event.serialize())))


class StateStore(PgASStateStore):
    def __init__(self, db: Database, max_rooms: int = MAX_ROOMS) -> None:
        super().__init__(db)
        self._levels: _Recent[PowerLevelStateEventContent] = _Recent(max_rooms)
        self._creates: _Recent[StateEvent] = _Recent(max_rooms)

    def forget_room(self, room_id: str) -> None:
        """The room is gone (deleted on the homeserver, its rows deleted here)."""
        self._levels.pop(RoomID(room_id))
        self._creates.pop(RoomID(room_id))

    def rooms_kept(self) -> int:
        return max(len(self._levels), len(self._creates))

    # Power levels ----------------------------------------------------------------------------

    async def _levels_of(self, room_id: RoomID) -> PowerLevelStateEventContent | None:
        return await self._levels.get_or_read(room_id, super().get_power_levels)

    async def has_power_levels_cached(self, room_id: RoomID) -> bool:
        return await self._levels_of(room_id) is not None

    async def get_power_levels(self, room_id: RoomID) -> PowerLevelStateEventContent | None:
        levels = await self._levels_of(room_id)
        # A copy: a caller may change what it got (to send new levels) and then fail.
        return _copy_levels(levels) if levels else None

    async def set_power_levels(
        self, room_id: RoomID, content: PowerLevelStateEventContent | dict[str, Any]
    ) -> None:
        self._levels.pop(room_id)  # should the write fail, the table is read next time
        await super().set_power_levels(room_id, content)
        self._levels.put(room_id, _copy_levels(content))

    # The create event ------------------------------------------------------------------------

    async def _create_of(self, room_id: RoomID) -> StateEvent | None:
        return await self._creates.get_or_read(room_id, super().get_create)

    async def has_create_cached(self, room_id: RoomID) -> bool:
        return await self._create_of(room_id) is not None

    async def get_create(self, room_id: RoomID) -> StateEvent | None:
        create = await self._create_of(room_id)
        return _copy_create(create) if create else None

    async def set_create(self, event: StateEvent) -> None:
        self._creates.pop(event.room_id)
        await super().set_create(event)
        self._creates.put(event.room_id, _copy_create(event))

    # Checked before every send -----------------------------------------------------------------

    async def has_power_level(
        self, room_id: RoomID, user_id: UserID, event_type: EventType
    ) -> bool | None:
        # As mautrix's, on the kept objects themselves (read only here, so no copies).
        levels = await self._levels_of(room_id)
        if not levels:
            return None
        create = await self._create_of(room_id)
        return levels.get_user_level(user_id, create) >= levels.get_event_level(event_type)
