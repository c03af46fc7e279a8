"""The visitor books a conversation themselves (seed 004: besides "Live Now", a booking form):
chat, phone or video, in a free slot of the department's advisers.

Free slots come from each adviser's weekly availability (`!availability`), the department's
business hours and closed days, minus what is booked (slots.py does the arithmetic). A booking
tries the advisers free at that time one by one; the booking itself holds the overlap check
(Appointments.book), so two visitors racing for the last adviser of a slot get one booking and
one clear refusal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import weekly
from ..config_appointments import booking_offer
from ..db.appointments import AppointmentType
from ..db.closed_days import ALL
from ..db.sessions import Session
from ..errors import BadRequest, Conflict, ErrorCode
from ..mail.addresses import BadAddress, check_address
from ..textsafety import visitor_name
from ..util import parse_duration
from .service import Appointments, Booking, Changed, Overlap
from .slots import Busy, Slot, free_slots

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store

log = logging.getLogger(__name__)

ALWAYS, WHEN_UNAVAILABLE, OFF = "always", "when_unavailable", "off"
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")
TYPE_NAME = "gesprek"  # the appointment type of visitors' own bookings (made when missing)


class VisitorBooking:
    def __init__(
        self,
        config: Config,
        store: Store,
        service: Appointments,
        members: Callable[[str], Awaitable[set[str]]],
        available: Callable[[], Awaitable[dict[str, bool]]],
    ) -> None:
        self.config = config
        self.store = store
        self.service = service
        self.members = members  # a department room's staff
        self.available = available  # per topic: someone can chat now

    @property
    def offer(self) -> str:
        return str(self.config["appointments.booking.offer"])

    @property
    def kinds(self) -> list[str]:
        return list(booking_offer(self.config)["kinds"])

    async def _open_for(self, topic_id: str) -> Any:
        dept = await self.store.departments.get_by_id(topic_id)
        if dept is None or not dept.active or not dept.room_id:
            raise BadRequest("There is no such topic.", code=ErrorCode.UNKNOWN_TOPIC)
        if self.offer == OFF or (
            self.offer == WHEN_UNAVAILABLE and (await self.available()).get(topic_id, False)
        ):
            raise Conflict(
                "Booking a conversation is not offered for this topic now.",
                code=ErrorCode.BOOKING_OFF,
            )
        return dept

    async def slots(self, topic_id: str, with_booked: bool = False) -> list[Slot]:
        """The free slots; with_booked: also those only booked appointments take."""
        dept = await self._open_for(topic_id)
        tz = self.service.tz
        now = datetime.now(tz)
        advisers: dict[str, weekly.Week] = {}
        members = sorted(await self.members(dept.room_id))
        for user_id, member in (await self.store.staff_members.many(members)).items():
            week = weekly.from_json(member.schedule) if member.schedule else None
            if week:
                advisers[user_id] = week
        b = self.config["appointments.booking"]
        horizon = int(b["horizon_days"])
        closed: set[date] = set()
        for day, department_id, _ in await self.store.closed_days.upcoming(now.date().isoformat()):
            if department_id in (ALL, dept.id):
                closed.add(date.fromisoformat(day))
        start_ms = int(now.timestamp() * 1000)
        end_ms = int((now + timedelta(days=horizon + 1)).timestamp() * 1000)
        busy = [
            Busy(
                a.adviser,
                datetime.fromtimestamp(a.start_at / 1000, UTC),
                datetime.fromtimestamp(a.end_at / 1000, UTC),
            )
            for a in await self.store.appointments.between(start_ms, end_ms)
            if not a.cancelled and a.adviser in advisers and not with_booked
        ]
        return free_slots(
            advisers=advisers,
            hours=weekly.from_json(dept.hours) if dept.hours else None,
            closed_days=closed,
            busy=busy,
            tz=tz,
            now=now,
            slot_minutes=int(b["slot_minutes"]),
            lead_minutes=int(parse_duration(b["lead_time"]) // 60),
            horizon_days=horizon,
        )

    async def book(self, session: Session, data: dict[str, Any]) -> Changed:
        """Book the slot starting at data["start"] (as the slot list gave it) for this
        session's chat; the visitor's e-mail address is required (the confirmation)."""
        topic_id, kind = data.get("topic_id"), data.get("kind")
        if not isinstance(topic_id, str) or len(topic_id) > 64:
            raise BadRequest("topic_id must be a topic's id.", code=ErrorCode.BAD_TOPIC)
        if kind not in self.kinds:
            raise BadRequest(
                f"kind must be one of: {', '.join(self.kinds)}.", code=ErrorCode.BAD_KIND
            )
        email, phone = _contact(data, kind == "phone")
        start = _moment(data.get("start"))
        free = [s for s in await self.slots(topic_id) if s.start == start]
        if not free and any(s.start == start for s in await self.slots(topic_id, True)):
            raise _taken()
        if not free:
            raise BadRequest(
                "That is not one of the free times: choose one of those.",
                code=ErrorCode.BAD_SLOT,
            )
        slot = free[0]
        conv = await self.store.conversations.get_by_id(session.conversation_id or "")
        if conv is not None:
            for appt in await self.store.appointments.of_conversation(conv.id):
                if not appt.cancelled and appt.case_id is None:
                    raise Conflict(
                        "This chat has a booked conversation already.",
                        code=ErrorCode.ALREADY_BOOKED,
                    )
        dept = await self.store.departments.get_by_id(topic_id)
        assert dept is not None
        kind_row = await self._type()
        minutes = int((slot.end - slot.start).total_seconds() // 60)
        for adviser in slot.advisers:
            try:
                changed = await self.service.book(
                    Booking(
                        kind=kind_row,
                        start=slot.start,
                        minutes=minutes,
                        adviser=adviser,
                        created_by="visitor",
                        title=kind_row.title,
                        location_kind=str(kind),
                        conversation_id=conv.id if conv else None,
                        session_id=session.id,
                        department_id=dept.id,
                        client_name=visitor_name(session.name),
                        client_email=email,
                        client_phone=phone,
                        lang=session.language,
                        room_id=dept.room_id,
                    )
                )
            except Overlap:
                continue  # booked by someone else just now: the next adviser free then
            log.info("Visitor booked appointment %s (%s)", changed.appointment.id, kind)
            return changed
        raise _taken()

    async def _type(self) -> AppointmentType:
        kind = await self.store.appointments.get_type(TYPE_NAME)
        if kind is None:
            kind = AppointmentType(TYPE_NAME, "Gesprek", 30, False, [], ["location", "adviser"])
            await self.store.appointments.save_type(kind)
        return kind


def _taken() -> Conflict:
    return Conflict(
        "Someone else booked that time just now: choose another time.",
        code=ErrorCode.SLOT_TAKEN,
    )


def _contact(data: dict[str, Any], phone_needed: bool) -> tuple[str, str | None]:
    """The visitor's e-mail address (required: the confirmation and the reminder go there)
    and, for a phone call, their number; refused when given, not when the mail fails."""
    email, phone = data.get("email"), data.get("phone")
    try:
        address = check_address(email) if isinstance(email, str) else None
    except BadAddress:
        address = None
    if address is None:
        raise BadRequest(
            "Give your e-mail address: the confirmation goes there.", code=ErrorCode.BAD_EMAIL
        )
    if phone is None and not phone_needed:
        return address, None
    if (
        not isinstance(phone, str)
        or len(phone) > 30
        or not PHONE.match(phone.strip())
        or sum(c.isdigit() for c in phone) < 6
    ):
        raise BadRequest(
            "Give the phone number we should call; use digits, spaces and +.",
            code=ErrorCode.BAD_PHONE,
        )
    return address, phone.strip()


def _moment(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest(
            "start must be a time as the slot list gives it.", code=ErrorCode.BAD_SLOT
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            "start must be a time as the slot list gives it.", code=ErrorCode.BAD_SLOT
        ) from None
    if moment.tzinfo is None:
        raise BadRequest("start must have its UTC offset.", code=ErrorCode.BAD_SLOT)
    return moment
