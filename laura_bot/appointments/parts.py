"""The appointment parts, put together for the composition root (app.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..db.appointments import Appointment, AppointmentType, OutboxMail
from ..errors import LauraError
from ..scheduler import Clock
from .booking import VisitorBooking
from .mails import CLIENT_FIELDS, AppointmentMails
from .messages import AppointmentMessages
from .outbox import Outbox
from .reminders import Reminders
from .service import Appointments

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store
    from ..matrix.bridge import MatrixBridge
    from ..notifier import Notifier
    from ..settings import Settings

log = logging.getLogger(__name__)


class AppointmentParts:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        clock: Clock,
        bridge: MatrixBridge,
        available: Callable[[], Awaitable[dict[str, bool]]],
        open_booked: Callable[[str, str, str], Awaitable[bool]],
    ) -> None:
        self.config = config
        self.store = store
        self.open_booked = open_booked  # (session, department, adviser): a booked chat opens
        self.mails = AppointmentMails(config, store)
        self.outbox = Outbox(config, store, clock, self._mail_done)
        self.service = Appointments(
            config, store, settings, notifier, self.mails, self._changed, self.outbox.kick
        )
        self.messages = AppointmentMessages(config, store, bridge, self.service.conference)
        self.booking = VisitorBooking(
            config, store, self.service, bridge.people.members_cached, available
        )
        self.reminders = Reminders(
            store,
            clock,
            self.mails,
            self.service.link,
            self.messages.remind_adviser,
            self.outbox.kick,
            self.messages.open_video,
            self.service.window,
            self._open_chat,
        )

    async def _open_chat(self, appt: Appointment) -> None:
        conv = await self.store.conversations.get_by_id(appt.conversation_id or "")
        if conv is None or conv.purged_at is not None or not appt.department_id:
            return
        try:
            await self.open_booked(conv.session_id, appt.department_id, appt.adviser)
        except LauraError as e:  # the topic closed meanwhile, the session is gone, …
            log.warning("The booked chat of appointment %s did not open: %s", appt.id, e.code)

    async def _mail_done(self, mail: OutboxMail) -> None:
        await self.messages.mail_done(mail)

    async def _changed(self, appt: Appointment) -> None:
        """After a change was committed: its mails go, its message follows, its reminders
        are (re)set."""
        self.outbox.kick()
        self.messages.kick(appt.id)
        await self.reminders.reschedule(appt)

    async def start(self) -> None:
        await self._seed_types()
        await self.reminders.start()
        await self.messages.catch_up()
        self.outbox.kick()

    async def _seed_types(self) -> None:
        """The config's types, on the first start only: later admins manage them."""
        if await self.store.appointments.types(include_retired=True):
            return
        for kind in self.config["appointments.types"]:
            await self.store.appointments.save_type(
                AppointmentType(
                    kind["name"],
                    kind["title"],
                    int(kind["minutes"]),
                    bool(kind.get("video", False)),
                    list(kind.get("outcomes") or []),
                    list(CLIENT_FIELDS),
                )
            )
        log.info("Appointment types from the config: %d", len(self.config["appointments.types"]))

    async def close(self) -> None:
        await self.outbox.close()
        await self.messages.close()
