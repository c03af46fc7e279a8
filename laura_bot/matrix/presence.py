"""Staff presence: whose Element is open. Who can be asked for a chat changes with it
(routing counts someone whose clients are all gone as away)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mautrix.api import Method, Path
from mautrix.appservice import AppService
from mautrix.types import UserID

from ..db import Store
from ..faults import describe

log = logging.getLogger(__name__)


class Presence:
    def __init__(
        self,
        store: Store,
        az: AppService,
        members: Callable[[str], Awaitable[set[str]]],
        kick_routing: Callable[[], Awaitable[None]],
        ready: Callable[[], bool],
    ) -> None:
        """members(room id): the people in a dispatch room; kick_routing(): look at every
        queue again; ready(): Laura has started (before that, routing looks at every queue
        when it starts)."""
        self.store = store
        self.az = az
        self.members = members
        self.kick_routing = kick_routing
        self.ready = ready
        self._latest: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self, user_id: str, presence: str) -> None:
        """Recorded from the first transaction on, also while Laura starts (Synapse does not
        push presence again later); one change at a time, the latest of each person's."""
        self._latest[user_id] = presence
        task = asyncio.create_task(self._record(user_id))
        self._tasks.add(task)  # a task nobody holds may be collected before it ends
        task.add_done_callback(self._tasks.discard)

    async def _record(self, user_id: str) -> None:
        """A staff member's clients came or went: who can be asked changes with it."""
        async with self._lock:
            presence = self._latest.pop(user_id, None)
            if presence is None:
                return  # an earlier task took the latest already
            try:
                before = await self.store.staff_members.set_presence(user_id, presence)
            except Exception as e:
                log.warning("Could not record a presence change: %s", describe(e))
                return
        if (before == "offline") != (presence == "offline"):
            log.info("%s is %s", user_id, "away" if presence == "offline" else "back")
            if self.ready():  # else routing looks at every queue when it starts
                await self.kick_routing()

    async def refresh(self) -> None:
        """At start: each dispatch room member's presence as it is now. Synapse drops the
        changes it could not push while Laura was down, so the stored one may be stale: someone
        who opened Element meanwhile would count as away until their presence changed again."""
        staff: set[str] = set()  # each person once, however many departments they are in
        for dept in await self.store.departments.all_active():
            if not dept.room_id:
                continue
            try:
                staff |= await self.members(dept.room_id)
            except Exception as e:
                log.warning("Could not list %s's members: %s", dept.id, describe(e))
        for user_id in sorted(staff):
            if user_id in self._latest:
                continue  # a pushed change is newer than what we would read
            try:
                state = await self.az.intent.api.request(
                    Method.GET, Path.v3.presence[UserID(user_id)].status
                )
            except Exception as e:
                log.info("No presence for %s: %s", user_id, describe(e))
                continue
            # A bare "offline" is what Synapse says with presence switched off, or of someone
            # it never saw: it tells nothing, and must not make anyone away.
            if isinstance(state, dict) and "last_active_ago" in state:
                await self.store.staff_members.set_presence(user_id, str(state["presence"]))
