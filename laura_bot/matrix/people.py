"""Who is who in Laura's rooms: the people in a room, staff, their names, the visitor's ghost."""

from __future__ import annotations

import time
from collections.abc import Callable

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from ..config import Config
from ..db import Store
from ..db.sessions import Session


class People:
    def __init__(
        self, config: Config, store: Store, az: AppService, t: Callable[..., str]
    ) -> None:
        self.config = config
        self.store = store
        self.az = az
        self.t = t
        self._members: dict[str, tuple[float, set[str]]] = {}

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    def ghost(self, session: Session) -> IntentAPI:
        """The visitor's Matrix user: what they write reaches staff as this user."""
        return self.bot.user(UserID(self.config.ghost_mxid(session.ghost_id)))

    def ghost_name(self, session: Session) -> str:
        """The visitor's name on every message in the consult room. A visitor the portal
        vouched for carries Laura's portal marker; no visitor-chosen name can (textsafety)."""
        if session.verified_id:
            return self.t("verified_name", name=session.nickname)
        return session.nickname

    async def members(self, room_id: str) -> set[str]:
        """Joined members of a room who are people (not Laura or a visitor ghost).

        Asked of the homeserver directly: mautrix's get_joined_members also rewrites its state
        store (delete + insert), and two of those at once for one room clash on PostgreSQL."""
        resp = await self.bot.api.request(Method.GET, Path.v3.rooms[room_id].joined_members)
        joined = resp.get("joined")
        if not isinstance(joined, dict):
            return set()
        return {u for u in joined if not self.config.is_own_user(u)}

    async def members_cached(self, room_id: str, max_age: float = 30.0) -> set[str]:
        """members(), remembered for a while: routing asks often. A membership event in the
        room forgets it (forget_members), so a change counts at once."""
        now = time.monotonic()
        hit = self._members.get(room_id)
        if hit and now - hit[0] < max_age:
            return set(hit[1])
        members = await self.members(room_id)
        self._members[room_id] = (now, members)
        return set(members)

    async def is_staff(self, user_id: str) -> bool:
        """An admin, a supervisor, or a member of a department's dispatch room."""
        if user_id in self.config["laura.admins"] or user_id in (
            self.config["laura.supervisors"] or []
        ):
            return True
        for dept in await self.store.departments.all_active():
            if dept.room_id and user_id in await self.members_cached(dept.room_id):
                return True
        return False

    def forget_members(self, room_id: str) -> None:
        self._members.pop(room_id, None)

    async def staff_name(self, room_id: str, user_id: str) -> str:
        """What visitors see of a staff member: their !nick, else their display name."""
        return await self.store.staff_members.nickname(user_id) or await self.display_name(
            room_id, user_id
        )

    async def display_name(self, room_id: str, user_id: str) -> str:
        try:
            member = await self.bot.get_room_member_info(RoomID(room_id), UserID(user_id))
            if member and member.displayname:
                return member.displayname
        except MatrixRequestError:
            pass
        return user_id.split(":")[0].lstrip("@")
