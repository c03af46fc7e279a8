"""Reminders: to the client by e-mail, to the adviser in Matrix. Like every deadline they are
rows in the database; the clock only wakes us. A reminder is claimed (marked done) in the
transaction that queues its mail, so a restart neither loses one nor sends one twice, and one
that fell due while Laura was down goes out only if the appointment has not begun.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..db.appointments import ADVISER, CHAT, CLIENT, VIDEO_ROOM, Appointment
from ..db.base import transaction
from ..scheduler import Clock
from ..util import now_ms

if TYPE_CHECKING:
    from ..db import Store
    from .mails import AppointmentMails

log = logging.getLogger(__name__)


class Reminders:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        mails: AppointmentMails,
        link: Callable[[str], str],
        remind_adviser: Callable[[Appointment], Awaitable[None]],
        kick_outbox: Callable[[], None],
        open_video: Callable[[Appointment], Awaitable[None]],
        window: Callable[[Appointment], tuple[int, int]],
        open_chat: Callable[[Appointment], Awaitable[None]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.mails = mails
        self.link = link
        self.remind_adviser = remind_adviser
        self.kick_outbox = kick_outbox
        self.open_video = open_video  # the adviser's room with the call
        self.window = window  # when a video appointment's call may be joined
        self.open_chat = open_chat  # a booked chat begins

    async def start(self) -> None:
        for appointment_id, side, due in await self.store.appointments.pending_reminders():
            self.schedule(appointment_id, side, due)

    def schedule(self, appointment_id: str, side: str, due: int) -> None:
        self.clock.at(f"remind:{appointment_id}:{side}", due, self.due, appointment_id, side)

    async def reschedule(self, appt: Appointment) -> None:
        """After a change: the clock follows the rows (a cancelled one has none left)."""
        rows = await self.store.appointments.pending_reminders(appt.id)
        pending = {(a, s): d for a, s, d in rows}
        for side in (CLIENT, ADVISER, VIDEO_ROOM, CHAT):
            due = pending.get((appt.id, side))
            if due is None:
                self.clock.cancel(f"remind:{appt.id}:{side}")
            else:
                self.schedule(appt.id, side, due)

    async def due(self, appointment_id: str, side: str) -> None:
        appt = await self.store.appointments.get(appointment_id)
        if appt is None:
            return
        now = now_ms()
        if side == VIDEO_ROOM:
            skip = appt.cancelled or now > self.window(appt)[1]
        elif side == CHAT:
            skip = appt.cancelled or now > appt.end_at
        else:
            skip = appt.start_at <= now or appt.cancelled
        if side in (ADVISER, VIDEO_ROOM, CHAT) and not skip:
            # Sent before it is marked done: the send is once-only by its txn id, so a crash
            # in between sends nothing twice; a failure is tried again in a minute.
            try:
                if side == ADVISER:
                    await self.remind_adviser(appt)
                elif side == VIDEO_ROOM:
                    await self.open_video(appt)
                else:
                    await self.open_chat(appt)
            except Exception:
                log.warning("Reminder of appointment %s failed; again in 1m", appt.id)
                self.schedule(appt.id, side, now_ms() + 60_000)
                return
        async with transaction(self.store.db) as conn:
            if await self.store.appointments.claim_reminder(conn, appointment_id, side) is None:
                return  # done already (or the appointment changed and it is rescheduled)
            if skip:
                log.info("Reminder (%s) of appointment %s skipped: it began", side, appt.id)
                return
            if side == CLIENT and appt.client_email and self.mails.enabled:
                adviser = await self.store.staff_members.get(appt.adviser)
                for recipient, message in await self.mails.compose(
                    appt, "reminder", adviser, self.link(appt.id)
                ):
                    await self.store.appointments.queue_mail(
                        conn, appt.id, "reminder", recipient, message
                    )
        if side == CLIENT:
            self.kick_outbox()
        log.info("Reminder (%s) of appointment %s sent", side, appt.id)
