"""Laura's rooms made and kept in line with the config: the control room, the contact-requests
room, a dispatch room per department, and how every private room is made (rooms.py holds the
templates); inviting and removing people."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import (
    PowerLevelStateEventContent,
    RoomCreatePreset,
    RoomCreateStateEventContent,
    RoomID,
    StateEvent,
    UserID,
)

from ..config import Config
from ..db import Store
from .people import People
from .rooms import power_levels, private_state

log = logging.getLogger(__name__)

ROOMS_AT_ONCE = 4  # rooms asked of the homeserver at the same time, on a first start

# Room versions whose create event names its creator in the content (before version 11).
_CREATOR_FIELD_VERSIONS = frozenset(str(v) for v in range(1, 11))
PEOPLE_KEY = "config.people"  # the admins and staff of the config as last applied


class RoomSetup:
    def __init__(
        self,
        config: Config,
        store: Store,
        az: AppService,
        people: People,
        t: Callable[..., str],
    ) -> None:
        self.config = config
        self.store = store
        self.az = az
        self.people = people
        self.t = t
        self.control_room: str | None = None
        self.contact_room: str | None = None
        self._room_version: str | None = None

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    async def _room(self, key: str, name: str, topic: str, invitees: list[str]) -> str:
        room_id = await self.store.settings.get(key)
        if room_id:
            return room_id
        room_id = await self.create_private_room(name, topic, invitees)
        await self.store.settings.set(key, room_id)
        log.info("Created %s %s", key, room_id)
        return room_id

    async def create_private_room(
        self, name: str, topic: str, invitees: list[str], levels: dict[str, Any] | None = None
    ) -> str:
        """Invite-only, not federated, history shared with members; only Laura changes state,
        invites or kicks (rooms.private_state says why the preset is public_chat).

        What Laura knows of the new room goes into the state store at once: her own join, the
        invites, the power levels and the create event, so that mautrix's check before the
        room's first send reads no state from the homeserver."""
        levels = levels or power_levels()
        version = await self.room_version()
        if not RoomCreateStateEventContent(room_version=version).supports_creator_power:
            # Before room version 12 the creator has no power of its own: Laura is listed, or
            # the homeserver refuses the room (and she could change nothing in it).
            levels = {**levels, "users": {**levels.get("users", {}), self.bot.mxid: 100}}
        creation = {"m.federate": False}
        room_id = await self.bot.create_room(
            name=name,
            topic=topic,
            preset=RoomCreatePreset.PUBLIC,
            invitees=[UserID(u) for u in invitees],
            room_version=version,
            creation_content=creation,
            initial_state=private_state(),
            power_level_override=levels,
        )
        store = self.bot.state_store
        await store.joined(room_id, self.bot.mxid)
        for user in invitees:
            await store.invited(room_id, UserID(user))
        await store.set_power_levels(
            room_id, PowerLevelStateEventContent.deserialize(cast(Any, levels))
        )
        content: dict[str, Any] = {"room_version": version, **creation}
        if version in _CREATOR_FIELD_VERSIONS:
            content["creator"] = self.bot.mxid
        create = {
            "type": "m.room.create",
            "room_id": room_id,
            # From room version 12 on the create event's id is the room's, with $ for !.
            "event_id": "$" + room_id[1:],
            "sender": self.bot.mxid,
            "origin_server_ts": int(time.time() * 1000),
            "state_key": "",
            "content": content,
        }
        await store.set_create(StateEvent.deserialize(cast(Any, create)))
        return room_id

    async def room_version(self) -> str:
        """The homeserver's default room version (asked once): new rooms are made in it, and
        named, so what Laura notes of their create event is what the homeserver made."""
        if self._room_version is None:
            caps = await self.bot.api.request(Method.GET, Path.v3.capabilities)
            versions = (caps.get("capabilities") or {}).get("m.room_versions") or {}
            self._room_version = str(versions.get("default") or "12")
        return self._room_version

    async def ensure_rooms(self) -> None:
        """Create (once) the control room, the contact-requests room and the dispatch rooms.

        They are asked for together (ROOMS_AT_ONCE at a time): the homeserver makes each in a
        few hundred milliseconds, and a first start with many departments need not wait for
        them one by one. Every request runs to its end (a room made is recorded even when
        another failed); then the first failure, if any, is raised, and the next start makes
        what is still missing."""
        admins = self.control_people()
        staff = sorted({s for d in self.config["laura.departments"] for s in d.get("staff") or []})
        if await self.store.departments.count() == 0:
            for dept in self.config["laura.departments"]:
                await self.store.departments.add(dept["id"], dept["label"])
        config_staff = {d["id"]: d.get("staff") or [] for d in self.config["laura.departments"]}
        missing = [d for d in await self.store.departments.all_active() if not d.room_id]
        await self.room_version()  # asked once, before the rooms
        control = self._room(
            "room.control", self.t("control_name"), self.t("control_topic"), admins
        )
        contact = self._room(
            "room.contact",
            self.t("contact_name"),
            self.t("contact_topic"),
            sorted(set(admins + staff)),
        )
        dispatch = [
            self.create_dispatch_room(d.id, d.label, config_staff.get(d.id, [])) for d in missing
        ]
        slots = asyncio.Semaphore(ROOMS_AT_ONCE)

        async def made(creation: Awaitable[str]) -> str:
            async with slots:
                return await creation

        results = await asyncio.gather(
            *(made(c) for c in (control, contact, *dispatch)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self.control_room, self.contact_room = cast(str, results[0]), cast(str, results[1])

    def control_people(self) -> list[str]:
        """Who belongs in the control room: the admins. Supervisors are not: what admins do
        there (case exports, the audit) is not theirs to read; they monitor from a direct chat
        with Laura."""
        return list(self.config["laura.admins"])

    async def reconcile_people(self) -> None:
        """Bring the rooms in line with the config's admins and department staff.

        Someone added to the config since the last start is invited where they belong; someone
        removed from it is removed from those rooms. Only the difference between this config
        and the last one applied (kept in the database) is acted on, so people added with
        !staff add are left alone. The first time there is no record: the rooms were just made
        with everyone in the config invited, or (an upgrade) their membership is the admins'
        doing, so the config is only recorded then. What could not be done is not recorded as
        done, and is tried again at the next start."""
        admins = set(self.control_people())
        rooms = {d.id: d.room_id for d in await self.store.departments.all_active() if d.room_id}
        staff = {
            d["id"]: set(d.get("staff") or [])
            for d in self.config["laura.departments"]
            if d["id"] in rooms  # a department made by command later: staff apply then
        }
        raw = await self.store.settings.get(PEOPLE_KEY)
        if raw is None:
            await self._record_people(admins, staff)
            return
        before = json.loads(raw)
        old_admins = set(before["admins"])
        old_staff = {k: set(v) for k, v in before["staff"].items()}
        failed: set[tuple[str, str]] = set()  # (where, user) not done
        for user in admins - old_admins:
            if not await self._try_invite(self.control_room, user):
                failed.add(("admin", user))
        for user in old_admins - admins:
            await self._try_kick(self.control_room, user)
        for dept, users in staff.items():
            for user in users - old_staff.get(dept, set()):
                if not await self._try_invite(rooms[dept], user):
                    failed.add((dept, user))
            for user in old_staff.get(dept, set()) - users:
                await self._try_kick(rooms[dept], user)
        everyone = admins | {u for users in staff.values() for u in users}
        before_all = old_admins | {u for users in old_staff.values() for u in users}
        for user in everyone - before_all:
            await self._try_invite(self.contact_room, user)
        still_staff: set[str] = set()
        for room_id in rooms.values():
            still_staff |= await self.people.members(room_id)
        for user in before_all - everyone - still_staff:  # not in a department by command either
            await self._try_kick(self.contact_room, user)
        admins = {u for u in admins if ("admin", u) not in failed}
        staff = {d: {u for u in users if (d, u) not in failed} for d, users in staff.items()}
        await self._record_people(admins, staff)

    async def _record_people(self, admins: set[str], staff: dict[str, set[str]]) -> None:
        people = {"admins": sorted(admins), "staff": {k: sorted(v) for k, v in staff.items()}}
        await self.store.settings.set(PEOPLE_KEY, json.dumps(people))

    async def _try_invite(self, room_id: str | None, user: str) -> bool:
        if not room_id:
            return False
        try:
            await self.invite(room_id, user)
        except MatrixRequestError as e:
            log.warning("Could not invite %s to %s: %s", user, room_id, e.errcode)
            return False
        log.info("Invited %s to %s (in the config now)", user, room_id)
        return True

    async def remove(self, room_id: str, user_id: str, reason: str) -> None:
        """Take someone out of a room (staff cannot kick, so Laura does it for !leave)."""
        try:
            await self.bot.kick_user(RoomID(room_id), UserID(user_id), reason=reason)
        except MatrixRequestError as e:
            if e.http_status != 403:  # 403: not in the room (any more)
                raise

    async def _try_kick(self, room_id: str | None, user: str) -> None:
        if not room_id:
            return
        try:
            await self.bot.kick_user(RoomID(room_id), UserID(user), reason=self.t("removed"))
            log.info("Removed %s from %s (no longer in the config)", user, room_id)
        except MatrixRequestError as e:
            log.info("Could not remove %s from %s: %s", user, room_id, e.errcode)

    async def create_dispatch_room(self, dept_id: str, label: str, staff: list[str]) -> str:
        room_id = await self.create_private_room(
            self.t("dispatch_name", label=label), self.t("dispatch_topic", label=label), staff
        )
        await self.store.departments.set_room(dept_id, room_id)
        log.info("Created dispatch room %s for %s", room_id, dept_id)
        return room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        try:
            await self.bot.invite_user(RoomID(room_id), UserID(user_id))
        except MatrixRequestError as e:
            if "already in the room" not in str(e.message or ""):
                raise
