"""A conversation's timers: the dispatch deadline and escalation of a waiting chat, the
inactivity check of a connected one (S21), the quiet end retention asks for, and rebuilding
them all from the database at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..db import Store
from ..db.base import transaction
from ..db.conversations import Conversation, Status
from ..notifier import Notifier
from ..scheduler import Clock
from ..settings import Settings
from ..tasks import Kick
from ..util import now_ms
from .lifecycle import Lifecycle

log = logging.getLogger(__name__)


class Timers:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        clock: Clock,
        lifecycle: Lifecycle,
        kick_matrix: Kick,
        kick_contacts: Callable[[], None],
    ) -> None:
        self.store = store
        self.db = store.db
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.lifecycle = lifecycle
        self.kick_matrix = kick_matrix
        self.kick_contacts = kick_contacts

    async def schedule(self, conv_id: str) -> None:
        """(Re)build the timers of a conversation from the database."""
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING:
            return
        if conv.dispatch_deadline:
            self.clock.at(
                f"dispatch:{conv.id}", conv.dispatch_deadline, self.dispatch_timeout, conv.id
            )
        if conv.escalate_at:
            self.clock.at(f"escalate:{conv.id}", conv.escalate_at, self.escalate, conv.id)

    async def escalate(self, conv_id: str) -> None:
        """Still waiting: one level louder (1: the whole department again, 2: the admins).
        The level is raised in the database only while the chat waits, so a restart or a
        claim at the same moment never announces twice or too late."""
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING or conv.escalation_level >= 2:
            return
        level = conv.escalation_level + 1
        interval = await self.settings.seconds("escalation_after")
        nxt = now_ms() + int(interval * 1000) if level < 2 else None
        async with transaction(self.db) as conn:
            if not await self.store.conversations.transition(
                conn,
                conv.id,
                (Status.WAITING,),
                Status.WAITING,
                escalation_level=level,
                escalate_at=nxt,
            ):
                return
        log.info("Conversation %s escalated to level %s", conv.id, level)
        self.kick_matrix(conv.id)
        if nxt:
            self.clock.at(f"escalate:{conv.id}", nxt, self.escalate, conv.id)

    async def dispatch_timeout(self, conv_id: str) -> None:
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING:
            return
        if conv.dispatch_deadline and conv.dispatch_deadline > now_ms() + 50:
            await self.schedule(conv.id)  # the deadline moved (e.g. a shorter !set); re-arm
            return
        await self.lifecycle.ask_contact(conv, reason="timeout")

    async def schedule_idle(self, conv: Conversation) -> None:
        """Arm the inactivity check of a connected chat: at the warning, or at its end. Every
        message moves last_activity_at; the check re-arms itself rather than every message
        moving the timer."""
        if conv.status != Status.CONNECTED:
            return
        if conv.idle_warned and conv.idle_deadline:
            due = conv.idle_deadline
        else:
            timeout = await self.settings.seconds("inactivity_timeout")
            last = conv.last_activity_at or conv.taken_at or now_ms()
            due = last + int(timeout * 1000)
        self.clock.at(f"idle:{conv.id}", due, self.idle_check, conv.id)

    async def idle_check(self, conv_id: str) -> None:
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.CONNECTED:
            return
        now = now_ms()
        if conv.idle_warned and conv.idle_deadline:
            if conv.idle_deadline > now + 50:
                await self.schedule_idle(conv)
                return
            session = await self.lifecycle.session_of(conv)
            log.info("Conversation %s ends: nobody wrote after the warning", conv.id)
            await self.lifecycle.end(session, conv, "idle", "idle_ended", (Status.CONNECTED,))
            return
        timeout = await self.settings.seconds("inactivity_timeout")
        last = conv.last_activity_at or conv.taken_at or now
        if last + int(timeout * 1000) > now + 50:
            await self.schedule_idle(conv)  # somebody wrote in the meantime
            return
        grace = await self.settings.seconds("inactivity_grace")
        session = await self.lifecycle.session_of(conv)
        deadline = now + int(grace * 1000)
        async with transaction(self.db) as conn:
            if not await self.store.conversations.warn_idle(conn, conv.id, last, deadline):
                return  # a message came in just now
            minutes = max(1, round(grace / 60))
            await self.lifecycle.say(
                conn, session, conv, "idle_warning", to_matrix=True, minutes=minutes
            )
        log.info("Conversation %s: inactivity warning", conv.id)
        self.notifier.notify(session.id)
        self.kick_matrix(conv.id)
        conv.idle_warned, conv.idle_deadline = True, deadline
        await self.schedule_idle(conv)

    async def end_quiet(self, conv_id: str, quiet_before: int) -> bool:
        """Close an open chat in which nobody wrote since before quiet_before (retention: a
        visitor who walked away while waiting, or when asked for contact details, and never
        came back), as a quiet chat is closed. False if someone wrote since, or it is not
        open any more."""
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status not in (Status.WAITING, Status.CONTACT):
            return False
        last = max(conv.last_activity_at or 0, conv.queued_at or 0, conv.created_at)
        if last >= quiet_before:
            return False
        session = await self.lifecycle.session_of(conv)
        log.info("Conversation %s ends: nobody wrote in it for the retention period", conv.id)
        return await self.lifecycle.end(
            session, conv, "idle", "idle_ended", (Status.WAITING, Status.CONTACT)
        )

    async def restore(self) -> None:
        """At start-up: rebuild timers and resume unfinished Matrix work from the database."""
        for conv in await self.store.conversations.all_by_status(Status.CONNECTED):
            await self.schedule_idle(conv)
        for conv in await self.store.conversations.all_by_status(Status.WAITING):
            await self.schedule(conv.id)
        await self.lifecycle.queues.restore(
            [d.id for d in await self.store.departments.all_active()]
        )
        for conv_id in await self.store.events.conversations_with_pending():
            self.kick_matrix(conv_id)
        for conv_id in await self.store.conversations.all_unfinished_matrix_work():
            self.kick_matrix(conv_id)
        self.kick_contacts()

    async def close(self) -> None:
        await self.lifecycle.queues.close()
