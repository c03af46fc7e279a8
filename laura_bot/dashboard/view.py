"""What the dashboard shows of a department, for one viewer, and the actions it offers.

Every action is the same domain call as in Element: Take is Dispatch.answer with "Ik!" (the
database decides the race with a reaction at the same moment), Not now is "Ik kan nu niet",
the status buttons are !status. Nothing here has rules of its own.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..db.dashboard import queue
from ..db.departments import Department
from ..db.staff_members import STATUSES
from ..dispatch.logic import Answer, Decision
from ..errors import BadRequest, Conflict, ErrorCode, Forbidden, NotFound
from ..util import now_ms
from .auth import Viewer

if TYPE_CHECKING:
    from ..appointments.service import Appointments
    from ..config import Config
    from ..db import Store
    from ..dispatch.answers import Dispatch
    from ..dispatch.routing import Routing
    from ..matrix.bridge import MatrixBridge

log = logging.getLogger(__name__)

QUEUE_SHOWN = 50
NAME_SECONDS = 60.0


class DashboardView:
    def __init__(
        self,
        config: Config,
        store: Store,
        bridge: MatrixBridge,
        routing: Routing,
        dispatch: Dispatch,
        appointments: Appointments,
    ) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.routing = routing
        self.dispatch = dispatch
        self.appointments = appointments
        self._names: dict[tuple[str, str], tuple[float, str]] = {}
        # Per department, one event per open stream: set when something there changes.
        self.watchers: dict[str, set[asyncio.Event]] = {}

    # Who sees what ----------------------------------------------------------------------------

    def is_admin(self, user_id: str) -> bool:
        return user_id in (self.config["laura.admins"] or [])

    def is_lead(self, user_id: str) -> bool:
        return self.is_admin(user_id) or user_id in (self.config["laura.supervisors"] or [])

    async def departments_of(self, user_id: str) -> list[Department]:
        """The departments whose dashboard a user may see: all for admins and supervisors,
        else those whose dispatch room they are in (membership of the room is membership of
        the department)."""
        active = await self.store.departments.all_active()
        if self.is_lead(user_id):
            return active
        return [
            d
            for d in active
            if d.room_id and user_id in await self.bridge.people.members_cached(d.room_id)
        ]

    async def department_for(self, viewer: Viewer, dept_id: str) -> Department:
        dept = await self.store.departments.get_by_id(dept_id)
        if dept is None or not dept.active:
            raise NotFound("There is no such department.", code=ErrorCode.UNKNOWN_DEPARTMENT)
        if dept.id not in {d.id for d in await self.departments_of(viewer.user_id)}:
            raise Forbidden(
                "This is another department's dashboard.", code=ErrorCode.NOT_YOUR_DEPARTMENT
            )
        return dept

    # What it shows ----------------------------------------------------------------------------

    async def _name(self, room_id: str, user_id: str) -> str:
        now = time.monotonic()
        hit = self._names.get((room_id, user_id))
        if hit and now - hit[0] < NAME_SECONDS:
            return hit[1]
        name = await self.bridge.people.staff_name(room_id, user_id)
        self._names[(room_id, user_id)] = (now, name)
        return name

    async def state(self, dept: Department, viewer: Viewer) -> dict[str, Any]:
        room = dept.room_id or ""
        chats = await queue(self.store.db, dept.id, QUEUE_SHOWN)
        people, running = await self.routing.people(room) if room else ([], {})
        members = await self.store.staff_members.many({p.user_id for p in people})
        staff = []
        for p in sorted(people, key=lambda p: p.user_id):
            m = members[p.user_id]
            staff.append(
                {
                    "user_id": p.user_id,
                    "name": await self._name(room, p.user_id),
                    "status": m.status,
                    "available": p.available,
                    "running": running.get(p.user_id, 0),
                    "capacity": await self.routing.capacity(m),
                }
            )
        me = next((s for s in staff if s["user_id"] == viewer.user_id), None)
        queue_out = [
            {
                "chat_id": c.chat_id,
                "topic": dept.label,
                "nickname": c.nickname,
                "queued_at": c.queued_at,
                "offered_to": c.offered_to,
                "offered_to_name": await self._name(room, c.offered_to) if c.offered_to else None,
                "unread": c.unread,
            }
            for c in chats
        ]
        return {
            "now": now_ms(),
            "department": {
                "id": dept.id,
                "label": dept.label,
                "open": await self.routing.is_open(dept.id, dept.hours),
            },
            "queue": queue_out,
            "staff": staff,
            "me": {k: me[k] for k in ("user_id", "status", "available", "running", "capacity")}
            if me
            else None,
            "appointments": await self._today(dept, room),
        }

    async def _today(self, dept: Department, room: str) -> list[dict[str, Any]]:
        zone = ZoneInfo(str(self.config["laura.timezone"]))
        day = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        start = int(day.timestamp() * 1000)
        end = int((day + timedelta(days=1)).timestamp() * 1000)
        out = []
        for a in await self.store.appointments.between(start, end):
            if a.department_id != dept.id:
                continue
            out.append(
                {
                    "nr": a.nr,
                    "starts_at": a.start_at,
                    "ends_at": a.end_at,
                    "type": a.type_name,
                    "title": a.title,
                    "adviser": a.adviser,
                    "adviser_name": await self._name(room, a.adviser) if room else a.adviser,
                    "status": a.status,
                    "kind": a.location_kind,
                }
            )
        return out

    # What it does -----------------------------------------------------------------------------

    async def answer(self, viewer: Viewer, chat_id: str, take: bool) -> str:
        conv = await self.store.conversations.get_by_id(chat_id)
        if conv is None or not conv.department_id:
            raise NotFound("There is no such chat.", code=ErrorCode.NOT_FOUND)
        dept = await self.department_for(viewer, conv.department_id)
        room = dept.room_id or ""
        members = await self.bridge.people.members(room) if room else set()
        name = await self.bridge.people.staff_name(room, viewer.user_id)
        outcome = await self.dispatch.answer(
            conv,
            viewer.user_id,
            name,
            Answer.TAKE if take else Answer.DECLINE,
            f"dashboard.{secrets.token_hex(8)}",  # the answer's own id, as a reaction's
            members,
        )
        self.kick(dept.id)
        if outcome.decision is Decision.CLAIM:
            log.info("Conversation %s taken from the dashboard by %s", conv.id, viewer.user_id)
            return "taken"
        if outcome.decision is Decision.DECLINE:
            return "declined"
        if outcome.decision is Decision.ALREADY_TAKEN:
            # The staff's own words (the page shows this message): who has it.
            text = self.bridge.t("already_taken", user=name, name=outcome.taker_name or "")
            raise Conflict(text, code=ErrorCode.ALREADY_TAKEN)
        if outcome.decision is Decision.NOT_MEMBER:
            raise Forbidden(
                "Only the department's team can take its chats.", code=ErrorCode.NOT_MEMBER
            )
        raise Conflict("This chat is no longer waiting.", code=ErrorCode.TOO_LATE)

    async def set_status(self, viewer: Viewer, status: Any) -> dict[str, Any]:
        if status not in STATUSES:
            raise BadRequest(
                f"status must be one of: {', '.join(STATUSES)}.", code=ErrorCode.BAD_STATUS
            )
        members = self.store.staff_members
        await members.set(viewer.user_id, status=status)
        await self.routing.kick_all()
        member = await members.get(viewer.user_id)
        running = (await members.active_chats()).get(viewer.user_id, 0)
        for dept in await self.departments_of(viewer.user_id):
            self.kick(dept.id)
        return {
            "user_id": viewer.user_id,
            "status": member.status,
            "available": self.routing.available(member),
            "running": running,
            "capacity": await self.routing.capacity(member),
        }

    def kick(self, dept_id: str | None = None) -> None:
        """Something changed (in one department, or anywhere): the streams look again."""
        for key, events in self.watchers.items():
            if dept_id is None or key == dept_id:
                for event in events:
                    event.set()
