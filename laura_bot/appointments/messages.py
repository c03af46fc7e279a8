"""An appointment in Matrix: one message of Laura's in the room where it was booked, edited on
every change, with a thread that logs the mails sent to the client (the seed's "E-mails (UIT)")
and the adviser's reminder.

The message is brought up to the appointment's current version by a keyed task, so changes
in quick succession end in one edit showing the last, and a restart finishes what was left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mautrix.types import EventID

from ..db.appointments import CANCELLED, Appointment, OutboxMail
from ..matrix import content as c
from ..tasks import KeyedRunner
from ..textsafety import for_staff
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


class AppointmentMessages:
    def __init__(self, config: Config, store: Store, bridge: MatrixBridge) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
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
        if appt.location_kind in ("home", "video"):
            location = t(f"appointment_location_{appt.location_kind}")
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

    async def _sync(self, appointment_id: str) -> None:
        appt = await self.store.appointments.get(appointment_id)
        if appt is None or not appt.room_id or appt.shown_version >= appt.version:
            return
        body = await self.describe(appt)
        if appt.event_id is None:
            event_id = await self.bridge.sender.send(
                appt.room_id, c.notice(body), txn_id=f"laura.appt.{appt.id}"
            )
        else:
            await self.bridge.sender.send(
                appt.room_id,
                c.edit(appt.event_id, body, c.MessageType.NOTICE),
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
        if appt is None or appt.event_id is None or appt.room_id is None:
            return
        await self.bridge.sender.send(
            appt.room_id, c.in_thread(appt.event_id, line), txn_id=f"laura.mail.{mail.id}"
        )

    async def remind_adviser(self, appt: Appointment) -> None:
        """The adviser's reminder: a mention in the appointment's thread."""
        if appt.status == CANCELLED or not appt.room_id:
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
        if appt.event_id:
            content.set_thread_parent(EventID(appt.event_id))
        await self.bridge.sender.send(
            appt.room_id, content, txn_id=f"laura.appt.{appt.id}.remind.{appt.start_at}"
        )

    async def close(self) -> None:
        await self.runner.close()
