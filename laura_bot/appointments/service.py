"""Booking, moving, changing and cancelling appointments (A1–A3).

Each change is one transaction: the appointment row, the mails it causes (written to the
outbox, composed in full), its reminders and the client's event in the chat's stream. Only
after the commit are the outbox, the reminders' clock and Laura's message in Matrix woken, so a
crash in between loses nothing: each of them picks up from the database at start.

Two appointments of one adviser may not overlap unless the booking says so: the check runs
after a write that serialises bookings per adviser (AppointmentStore.lock_adviser), so it holds
when two staff members book at once, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jwt
from mautrix.util.async_db import Connection

from ..db.appointments import (
    ADVISER,
    BOOKED,
    CANCELLED,
    CHAT,
    CLIENT,
    MOVED,
    VIDEO_ROOM,
    Appointment,
    AppointmentType,
)
from ..db.base import transaction
from ..db.outbound import Happening, iso
from ..util import now_ms
from .mails import AppointmentMails

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store
    from ..notifier import Notifier
    from ..settings import Settings

log = logging.getLogger(__name__)

DEFAULT, HOME, VIDEO, ADDRESS = "default", "home", "video", "address"
NOT_SHOWN = "niet verschenen"  # an outcome every type has


class Overlap(Exception):
    def __init__(self, others: list[Appointment]) -> None:
        super().__init__("overlap")
        self.others = others


class NotChangeable(Exception):
    """The appointment is cancelled (or otherwise past changing)."""


@dataclass
class Booking:
    kind: AppointmentType
    start: datetime  # aware
    minutes: int
    adviser: str
    created_by: str
    title: str
    location_kind: str = DEFAULT
    location: str | None = None
    remarks: str | None = None
    internal: str | None = None
    allow_overlap: bool = False
    case_id: str | None = None
    conversation_id: str | None = None
    session_id: str | None = None
    department_id: str | None = None
    client_name: str | None = None
    client_email: str | None = None
    client_phone: str | None = None
    lang: str = "nl"
    room_id: str | None = None


@dataclass
class Changed:
    """What a change did, for the command's reply."""

    appointment: Appointment
    mailed: list[str] = field(default_factory=list)  # the client's address, if mailed


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class Appointments:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        mails: AppointmentMails,
        woken: Callable[[Appointment], Awaitable[None]],
        kick_outbox: Callable[[], None],
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings
        self.notifier = notifier
        self.mails = mails
        # After each committed change: the outbox, the reminders and Laura's message.
        self.woken = woken
        self.woken_outbox = kick_outbox  # a mail made ready to go again (!mails retry)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.config["laura.timezone"]))

    # Links ------------------------------------------------------------------------------------

    def link_token(self, appointment_id: str) -> str:
        """The secret of the client's personal link: the id and its HMAC under a key of
        Laura's, so it needs no storage and cannot be guessed from the id."""
        mac = self._mac(b"laura-appointment-link:", appointment_id)
        return f"{appointment_id}.{base64.urlsafe_b64encode(mac[:18]).decode()}"

    def _mac(self, purpose: bytes, appointment_id: str) -> bytes:
        """An HMAC of the appointment's id under a key of Laura's for this purpose only."""
        secret = str(self.config["appservice.as_token"]).encode()
        key = hashlib.sha256(purpose + secret).digest()
        return hmac.new(key, appointment_id.encode(), hashlib.sha256).digest()

    def from_link(self, token: str) -> str | None:
        """The appointment id of a personal link's token, or None when it is not one."""
        appointment_id, _, _ = token.partition(".")
        if not appointment_id or not hmac.compare_digest(self.link_token(appointment_id), token):
            return None
        return appointment_id

    def link(self, appointment_id: str) -> str:
        base = str(self.config["web.public_url"]).rstrip("/")
        return f"{base}/appointment/{self.link_token(appointment_id)}"

    # Changes ----------------------------------------------------------------------------------

    async def _happened(self, conn: Any, kind: str, appt: Appointment) -> None:
        """appointment.booked / changed / cancelled for webhooks: ids, times and status; the
        client's details and what they were told only for endpoints with content."""
        happening = Happening(
            f"appointment.{kind}",
            appt.conversation_id,
            appt.department_id,
            {
                "appointment_id": appt.id,
                "nr": appt.nr,
                "chat_id": appt.conversation_id,
                "case_id": appt.case_id,
                "department": appt.department_id,
                "type": appt.type_name,
                "status": appt.status,
                "starts_at": iso(appt.start_at),
                "ends_at": iso(appt.end_at),
                "adviser": appt.adviser,
                "at": iso(now_ms()),
            },
        )
        happening.content.update(
            client_name=appt.client_name,
            client_email=appt.client_email,
            client_phone=appt.client_phone,
            title=appt.title,
            location=appt.location,
            remarks=appt.remarks,
        )
        await self.store.outbound.record(conn, happening)

    async def book(self, b: Booking) -> Changed:
        start_at = _ms(b.start)
        end_at = start_at + b.minutes * 60_000
        now = now_ms()
        appt_id = secrets.token_hex(12)
        appt = Appointment(
            nr=0,
            id=appt_id,
            uid=f"{appt_id}@{self.config['homeserver.domain']}",
            sequence=0,
            version=0,
            type_name=b.kind.name,
            video=b.kind.video or b.location_kind == VIDEO,
            title=b.title,
            location_kind=b.location_kind,
            location=b.location,
            remarks=b.remarks,
            internal=b.internal,
            start_at=start_at,
            end_at=end_at,
            adviser=b.adviser,
            case_id=b.case_id,
            conversation_id=b.conversation_id,
            department_id=b.department_id,
            client_name=b.client_name,
            client_email=b.client_email,
            client_phone=b.client_phone,
            lang=b.lang,
            status=BOOKED,
            outcome=None,
            outcome_note=None,
            room_id=b.room_id,
            event_id=None,
            video_room_id=None,
            shown_version=-1,
            mailed=False,
            created_by=b.created_by,
            created_at=now,
            updated_at=now,
        )
        auto = await self.settings.flag("appointment_mail_auto")
        result = Changed(appt)
        async with transaction(self.store.db) as conn:
            await self.store.appointments.lock_adviser(conn, b.adviser)
            if not b.allow_overlap:
                others = await self.store.appointments.overlapping(
                    conn, b.adviser, start_at, end_at
                )
                if others:
                    raise Overlap(others)
            await self.store.appointments.insert(conn, appt)
            await self._happened(conn, "booked", appt)
            if auto and appt.client_email:
                result.mailed = await self._mail(conn, appt, "booked")
            await self._reminders(conn, appt)
            told = await self._client_event(conn, appt, b.session_id)
        self._told(told)
        await self.store.audit.record(
            b.created_by, "appointment_booked", b.conversation_id, appt.id
        )
        log.info("Appointment %s (#%s) booked by %s", appt.id, appt.nr, b.created_by)
        await self.woken(appt)
        return result

    async def move(
        self, appt: Appointment, start: datetime, minutes: int | None, by: str, allow: bool
    ) -> Changed:
        self._changeable(appt)
        start_at = _ms(start)
        end_at = start_at + (minutes or (appt.end_at - appt.start_at) // 60_000) * 60_000
        result = Changed(appt)
        async with transaction(self.store.db) as conn:
            await self.store.appointments.lock_adviser(conn, appt.adviser)
            if not allow:
                others = await self.store.appointments.overlapping(
                    conn, appt.adviser, start_at, end_at, but=appt.id
                )
                if others:
                    raise Overlap(others)
            await self.store.appointments.update(
                conn,
                appt,
                start_at=start_at,
                end_at=end_at,
                status=MOVED,
                sequence=appt.sequence + 1,
            )
            await self._happened(conn, "changed", appt)
            result.mailed = await self._mail(conn, appt, "moved")
            await self._reminders(conn, appt)
            told = await self._client_event(conn, appt)
        self._told(told)
        await self.store.audit.record(by, "appointment_moved", appt.conversation_id, appt.id)
        await self.woken(appt)
        return result

    async def edit(self, appt: Appointment, by: str, **fields: Any) -> Changed:
        """Title, location (kind and text) or remarks for the client; the client hears of it."""
        self._changeable(appt)
        result = Changed(appt)
        async with transaction(self.store.db) as conn:
            await self.store.appointments.update(conn, appt, sequence=appt.sequence + 1, **fields)
            await self._happened(conn, "changed", appt)
            result.mailed = await self._mail(conn, appt, "changed")
            told = await self._client_event(conn, appt)
        self._told(told)
        await self.store.audit.record(by, "appointment_changed", appt.conversation_id, appt.id)
        await self.woken(appt)
        return result

    async def cancel(self, appt: Appointment, by: str) -> Changed:
        self._changeable(appt)
        result = Changed(appt)
        async with transaction(self.store.db) as conn:
            await self.store.appointments.update(
                conn, appt, status=CANCELLED, sequence=appt.sequence + 1
            )
            await self._happened(conn, "cancelled", appt)
            result.mailed = await self._mail(conn, appt, "cancelled")
            await self.store.appointments.drop_reminders(conn, appt.id)
            told = await self._client_event(conn, appt)
        self._told(told)
        await self.store.audit.record(by, "appointment_cancelled", appt.conversation_id, appt.id)
        await self.woken(appt)
        return result

    async def send_confirmation(self, appt: Appointment, by: str, email: str | None) -> Changed:
        """`!afspraak mail`: (re)send the current state to the client, to a new address if
        given (the client's reminder goes there too)."""
        self._changeable(appt)
        result = Changed(appt)
        async with transaction(self.store.db) as conn:
            fields: dict[str, Any] = {}
            if email:
                fields["client_email"] = email
            await self.store.appointments.update(conn, appt, **fields)
            result.mailed = await self._mail(conn, appt, "booked")
            await self._reminders(conn, appt)
        await self.store.audit.record(by, "appointment_mailed", appt.conversation_id, appt.id)
        await self.woken(appt)
        return result

    async def record_outcome(
        self, appt: Appointment, outcome: str, note: str | None, by: str
    ) -> Changed:
        async with transaction(self.store.db) as conn:
            await self.store.appointments.update(conn, appt, outcome=outcome, outcome_note=note)
        await self.store.audit.record(by, "appointment_outcome", appt.conversation_id, appt.id)
        await self.woken(appt)
        return Changed(appt)

    async def cancel_coming(self, conversation_ids: list[str]) -> None:
        """The visitor deleted their data: their appointments still to come are cancelled
        (the CANCEL mails are queued) before everything is deleted."""
        now = now_ms()
        for conv_id in conversation_ids:
            for appt in await self.store.appointments.of_conversation(conv_id):
                if not appt.cancelled and appt.start_at > now:
                    await self.cancel(appt, "visitor")

    @staticmethod
    def _changeable(appt: Appointment) -> None:
        if appt.cancelled:
            raise NotChangeable()

    # Inside a change's transaction ------------------------------------------------------------

    async def _mail(self, conn: Connection, appt: Appointment, kind: str) -> list[str]:
        """Queue the client's mail of this change and the adviser's copy, composed now."""
        if not self.mails.enabled:
            return []
        queued: list[str] = []
        adviser = await self.store.staff_members.get(appt.adviser)
        for recipient, message in await self.mails.compose(
            appt, kind, adviser, self.link(appt.id)
        ):
            await self.store.appointments.queue_mail(conn, appt.id, kind, recipient, message)
            queued.append(recipient)
        to_client = [r for r in queued if r == appt.client_email]
        if to_client and not appt.mailed:
            await conn.execute("UPDATE appointment SET mailed=TRUE WHERE id=$1", appt.id)
            appt.mailed = True
        return to_client

    async def _reminders(self, conn: Connection, appt: Appointment) -> None:
        now = now_ms()
        sides = [(ADVISER, "appointment_reminder_adviser")]
        if appt.client_email and self.mails.enabled:
            sides.append((CLIENT, "appointment_reminder_client"))
        for side, setting in sides:
            due = appt.start_at - int(await self.settings.seconds(setting) * 1000)
            if side == CLIENT and due <= now:
                # Inside the reminder time the mail of this change (the invitation, the move,
                # the confirmation) is the client's reminder: a second mail a moment later
                # would only be noise. A client who gets no mail now has not heard of it, and
                # a reminder goes only to one who has.
                await self.store.appointments.drop_reminders(conn, appt.id, CLIENT)
            elif appt.start_at > now:
                # Booked later than the reminder time: reminded at once (unless it has begun).
                await self.store.appointments.set_reminder(conn, appt.id, side, max(due, now))
        if appt.location_kind == "chat" and appt.conversation_id and appt.start_at > now:
            # A chat the visitor booked opens at its time, offered first to the adviser.
            await self.store.appointments.set_reminder(conn, appt.id, CHAT, appt.start_at)
        if appt.video and self.config["video.jitsi_url"]:
            # The adviser's room with the call opens with the client's join window.
            opens = self.window(appt)[0]
            await self.store.appointments.set_reminder(conn, appt.id, VIDEO_ROOM, max(opens, now))

    def _told(self, session_id: str | None) -> None:
        """After the commit: the client's open widget reads the new event."""
        if session_id:
            self.notifier.notify(session_id)

    async def _client_event(
        self, conn: Connection, appt: Appointment, session_id: str | None = None
    ) -> str | None:
        """The appointment as an event in the chat's stream (type "appointment")."""
        if session_id is None and appt.conversation_id:
            conv = await self.store.conversations.get_by_id(appt.conversation_id)
            # A chat deleted by retention (its case and appointment kept) gets nothing new.
            session_id = conv.session_id if conv and conv.purged_at is None else None
        if session_id is None:
            return None
        await self.store.events.append(
            conn,
            session_id,
            appt.conversation_id,
            "appointment",
            data={"appointment": await self.for_client(appt)},
        )
        return session_id

    # What the client sees ---------------------------------------------------------------------

    async def for_client(self, appt: Appointment) -> dict[str, Any]:
        """The appointment as the client may see it: never the internal remarks, and only the
        fields its type shows."""
        kind = await self.store.appointments.get_type(appt.type_name)
        shown = set(kind.client_fields) if kind else {"title", "location", "remarks", "adviser"}
        tz = self.tz
        out: dict[str, Any] = {
            "id": appt.id,
            "status": appt.status,
            "start": datetime.fromtimestamp(appt.start_at / 1000, tz).isoformat(),
            "end": datetime.fromtimestamp(appt.end_at / 1000, tz).isoformat(),
            "timezone": str(tz),
            "video": appt.video,
            "title": appt.title if "title" in shown else None,
            "location_kind": appt.location_kind if "location" in shown else None,
            "location": appt.location if "location" in shown else None,
            "remarks": appt.remarks if "remarks" in shown else None,
            "adviser": None,
        }
        if "adviser" in shown:
            member = await self.store.staff_members.get(appt.adviser)
            out["adviser"] = member.nickname
        return out

    def start(self, appt: Appointment) -> datetime:
        return datetime.fromtimestamp(appt.start_at / 1000, UTC).astimezone(self.tz)

    def window(self, appt: Appointment) -> tuple[int, int]:
        """When a video appointment's call may be joined: from 10 minutes before the start
        until 30 minutes after the end."""
        return appt.start_at - 10 * 60_000, appt.end_at + 30 * 60_000

    def conference(self, appt: Appointment) -> str:
        """The video appointment's Jitsi conference: the same for both sides, not guessable
        from the appointment (lowercase: Jitsi lowercases room names)."""
        return "laura" + self._mac(b"laura-appointment-video:", appt.id).hex()[:20]

    def video_url(self, appt: Appointment) -> str | None:
        """The Jitsi address of a video appointment's call for the client, with a token valid
        for the join window when the Jitsi server takes tokens."""
        base = str(self.config["video.jitsi_url"] or "").rstrip("/")
        if not base:
            return None
        room = self.conference(appt)
        if not self.config["video.jwt_app_id"]:
            return f"{base}/{room}"
        opens, closes = self.window(appt)
        claims = {
            "aud": self.config["video.jwt_audience"] or "jitsi",
            "iss": self.config["video.jwt_app_id"],
            "sub": urlsplit(base).netloc,
            "room": room,
            "iat": int(time.time()),
            "nbf": opens // 1000,
            "exp": closes // 1000,
            "context": {"user": {"name": appt.client_name or "", "moderator": False}},
        }
        token = jwt.encode(claims, str(self.config["video.jwt_secret"]), algorithm="HS256")
        return f"{base}/{room}?jwt={token}"

    @staticmethod
    def span(day_start: datetime, days: int) -> tuple[int, int]:
        return _ms(day_start), _ms(day_start + timedelta(days=days))
