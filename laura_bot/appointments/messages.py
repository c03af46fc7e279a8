"""An appointment in Matrix: one message of Laura's in the room where it was booked, edited on
every change, with a thread that logs the mails sent to the client (the seed's "E-mails (UIT)")
and the adviser's reminder.

The message is brought up to the appointment's current version by a keyed task, so changes
in quick succession end in one edit showing the last, and a restart finishes what was left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mautrix.types import EventID

from ..db.appointments import CANCELLED, Appointment, OutboxMail
from ..matrix import content as c
from ..tasks import KeyedRunner
from ..textsafety import for_staff
from ..video import jitsi_widget
from .times import format_when

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store
    from ..matrix.bridge import MatrixBridge

log = logging.getLogger(__name__)


def masked(address: str) -> str:
    """An address as the thread shows it: enough to recognise, not to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def t_booked(t: Callable[..., str], appt: Appointment) -> str:
    return str(t("appointment_visitor_booked", user=c.pill(appt.adviser)))


class AppointmentMessages:
    def __init__(
        self,
        config: Config,
        store: Store,
        bridge: MatrixBridge,
        conference: Callable[[Appointment], str],
    ) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.conference = conference  # a video appointment's Jitsi conference
        self.runner = KeyedRunner("appointment message", self._sync)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.config["laura.timezone"]))

    def when(self, appt: Appointment) -> str:
        return self.when_for(appt, self.bridge.lang)

    def when_for(self, appt: Appointment, lang: str) -> str:
        start = datetime.fromtimestamp(appt.start_at / 1000, UTC).astimezone(self.tz)
        return format_when(start, self.tz, lang)

    async def describe(self, appt: Appointment) -> str:
        t = self.bridge.t
        adviser = await self.store.staff_members.get(appt.adviser)
        if appt.location_kind in ("home", "video", "chat"):
            location = t(f"appointment_location_{appt.location_kind}")
        elif appt.location_kind == "phone":
            location = t("appointment_location_phone", phone=appt.client_phone or "?")
        else:
            location = appt.location or t("appointment_location_none")
        return t(
            "appointment_message",
            nr=str(appt.nr),
            title=for_staff(appt.title),
            type=appt.type_name,
            when=self.when(appt),
            minutes=str((appt.end_at - appt.start_at) // 60_000),
            location=for_staff(location),
            adviser=c.pill(appt.adviser) if not adviser.nickname else adviser.nickname,
            status=t(f"appointment_status_{appt.status}"),
            outcome=for_staff(appt.outcome or ""),
            note=for_staff(appt.outcome_note or ""),
            remarks=for_staff(appt.remarks or ""),
            internal=for_staff(appt.internal or ""),
            email=bool(appt.client_email),
            mailed=appt.mailed,
        )

    def kick(self, appointment_id: str) -> None:
        self.runner.kick(appointment_id)

    async def catch_up(self) -> None:
        for appointment_id in await self.store.appointments.behind():
            self.kick(appointment_id)

    async def _live_room(self, appt: Appointment) -> str | None:
        """The room the appointment was booked in, unless retention deleted it with its chat
        (the case, and so the appointment, is kept longer)."""
        if not appt.room_id:
            return None
        conv = await self.store.conversations.get_by_room(appt.room_id)
        return None if conv is not None and conv.purged_at is not None else appt.room_id

    async def _sync(self, appointment_id: str) -> None:
        appt = await self.store.appointments.get(appointment_id)
        if appt is None or not appt.room_id or appt.shown_version >= appt.version:
            return
        if await self._live_room(appt) is None:
            return
        body = await self.describe(appt)
        # A visitor's own booking reaches the adviser as a mention in the department's room;
        # one staff booked is a notice where they booked it.
        by_visitor = appt.created_by == "visitor"
        if appt.event_id is None:
            content = (
                c.mention(t_booked(self.bridge.t, appt) + "\n" + body, [appt.adviser])
                if by_visitor
                else c.notice(body)
            )
            event_id = await self.bridge.sender.send(
                appt.room_id, content, txn_id=f"laura.appt.{appt.id}"
            )
        else:
            msgtype = c.MessageType.TEXT if by_visitor else c.MessageType.NOTICE
            await self.bridge.sender.send(
                appt.room_id,
                c.edit(appt.event_id, body, msgtype),
                txn_id=f"laura.appt.{appt.id}.v{appt.version}",
            )
            event_id = appt.event_id
        await self.store.appointments.shown(appt.id, appt.version, event_id)

    async def mail_done(self, mail: OutboxMail) -> None:
        """A line in the appointment's thread for a mail sent or given up; admins hear of one
        given up in the control room."""
        t = self.bridge.t
        appt = await self.store.appointments.get(mail.appointment_id or "")
        if mail.sent_at is not None:
            line = t(
                "appointment_mail_sent",
                kind=t(f"appointment_mail_{mail.kind}"),
                to=masked(mail.recipient),
            )
        else:
            line = t(
                "appointment_mail_failed",
                kind=t(f"appointment_mail_{mail.kind}"),
                to=masked(mail.recipient),
                nr=str(mail.id),
            )
            if self.bridge.control_room:
                await self.bridge.notice(
                    self.bridge.control_room,
                    t("mail_given_up", nr=str(mail.id), appointment=str(appt.nr) if appt else "?"),
                    txn_id=f"laura.mail.{mail.id}.admins",
                )
        if appt is None or not appt.room_id:
            return
        if appt.event_id is None:
            await self._sync(appt.id)
            appt = await self.store.appointments.get(appt.id)
        if appt is None or appt.event_id is None or await self._live_room(appt) is None:
            return
        await self.bridge.sender.send(
            str(appt.room_id), c.in_thread(appt.event_id, line), txn_id=f"laura.mail.{mail.id}"
        )

    async def remind_adviser(self, appt: Appointment) -> None:
        """The adviser's reminder: a mention in the appointment's thread; in the department's
        room when they are not in the room it was booked in (or it is gone)."""
        room_id = await self._live_room(appt)
        if room_id is not None and appt.adviser not in await self.bridge.people.members_cached(
            room_id
        ):
            room_id = None  # booked for them by a colleague, or they left that room
        if room_id is None:
            dept = await self.store.departments.get_by_id(appt.department_id or "")
            room_id = dept.room_id if dept and dept.room_id else self.bridge.control_room
        if appt.status == CANCELLED or room_id is None:
            return
        t = self.bridge.t
        body = t(
            "appointment_reminder",
            nr=str(appt.nr),
            when=self.when(appt),
            title=for_staff(appt.title),
            user=c.pill(appt.adviser),
        )
        content = c.mention(body, [appt.adviser])
        if appt.event_id and room_id == appt.room_id:
            content.set_thread_parent(EventID(appt.event_id))
        await self.bridge.sender.send(
            room_id, content, txn_id=f"laura.appt.{appt.id}.remind.{appt.start_at}"
        )

    async def open_video(self, appt: Appointment) -> None:
        """A video appointment is about to begin: a room of its own for the adviser with the
        call (the consult room may be long gone), which the client joins from the mail's
        link. Made once; the widget and the notice are once-only too."""
        t = self.bridge.t
        room_id = appt.video_room_id
        if room_id is None:
            room_id = await self.bridge.rooms.create_private_room(
                t("appointment_video_room", nr=str(appt.nr)),
                t("appointment_video_topic"),
                [appt.adviser],
            )
            await self.store.appointments.set_video_room(appt.id, room_id)
        domain = urlsplit(str(self.config["video.jitsi_url"])).netloc
        conference = self.conference(appt)
        widget_id = f"laura-appt-{appt.id}"
        await self.bridge.widgets.add(
            room_id,
            widget_id,
            jitsi_widget(
                domain,
                conference,
                widget_id,
                self.bridge.bot.mxid,
                t("video_widget_name"),
                conference,
            ),
        )
        body = t(
            "appointment_video_open",
            nr=str(appt.nr),
            when=self.when(appt),
            user=c.pill(appt.adviser),
        )
        await self.bridge.sender.send(
            room_id, c.mention(body, [appt.adviser]), txn_id=f"laura.appt.{appt.id}.video"
        )

    async def close(self) -> None:
        await self.runner.close()
