"""Retention (C2) and the visitor's own "delete my data": what is due, deleted in Laura's
tables at once, and queued for the homeserver in the same transaction (matrix/erasure.py does
that part).

Deadlines come from the database: a chat is due when it ended longer ago than its department's
retention (or the general one); a chat never begun (no topic chosen) counts from its start.
Open chats are never touched. Contact requests and cases have retentions of their own, from
when they were made; the audit trail is kept for audit_years. A sweep runs every
privacy.sweep_interval on the in-process clock, and at start-up, so a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .config import Config
from .db import Store
from .db.base import checkpoint, transaction
from .db.conversations import Conversation
from .db.sessions import Session
from .scheduler import Clock
from .settings import Settings
from .util import format_duration, now_ms, parse_duration

log = logging.getLogger(__name__)

YEAR_MS = 365 * 86400 * 1000
KEEP_DONE_MS = 30 * 86400 * 1000  # finished erasure items (ids only) are kept this long
COMMANDS_KEPT_MS = 7 * 86400 * 1000


class Retention:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        clock: Clock,
        kick_erasure: Callable[[], None],
        end_chat: Callable[[Session], Awaitable[None]],
        end_quiet: Callable[[str, int], Awaitable[bool]],
        contact_room: Callable[[], str | None],
        control_room: Callable[[], str | None],
        on_erased: Callable[[str], None],
        cancel_appointments: Callable[[list[str]], Awaitable[None]],
    ) -> None:
        """contact_room(), control_room(): the fixed rooms' ids once they exist (posts about a
        deleted chat are redacted there); on_erased(session id): a visitor's data is gone (its
        open streams and polls end)."""
        self.config = config
        self.store = store
        self.settings = settings
        self.clock = clock
        self.kick_erasure = kick_erasure
        self.end_chat = end_chat
        self.cancel_appointments = cancel_appointments  # of these chats, still to come
        self.end_quiet = end_quiet
        self.interval_ms = int(parse_duration(config["privacy.sweep_interval"]) * 1000)
        self.contact_room = contact_room
        self.control_room = control_room
        self.on_erased = on_erased

    def start(self) -> None:
        self.clock.at("privacy:sweep", now_ms(), self.sweep)
        self.kick_erasure()

    async def sweep(self) -> None:
        try:
            erased = await self._sweep(now_ms())
            if erased:
                await self._checkpoint()
        finally:
            self.clock.at("privacy:sweep", now_ms() + self.interval_ms, self.sweep)
        self.kick_erasure()

    async def _sweep(self, now: int) -> int:
        store = self.store
        general = await self.settings.seconds("retention")
        own = await self.settings.department_values("retention")
        due = []
        shortest = min([general, *own.values()])
        for chat in await store.privacy.chats_not_purged(now - int(shortest * 1000)):
            keep = own.get(chat.department_id or "", general)
            if chat.status == "ended":
                since = chat.ended_at
            elif chat.status == "choosing":
                since = chat.created_at
            else:
                since = chat.quiet_since
            if since is None or since + keep * 1000 > now:
                continue
            # Open and quiet for as long as an ended chat is kept: closed first (as a quiet
            # chat is), so the visitor's widget and staff see it end, then deleted.
            if chat.status not in ("ended", "choosing"):
                if not await self.end_quiet(chat.id, now - int(keep * 1000)):
                    continue  # somebody wrote just now, or it ended by itself meanwhile
            due.append(chat.id)
        # A chat with a conversation its visitor booked, still to come, waits until it has been.
        booked = await store.appointments.coming_in(due, now)
        erased = await self.erase_chats([c for c in due if c not in booked], "retention")
        erased += await self._erase_sessions()
        async with transaction(store.db) as conn:
            control = self.control_room()
            if erased and control:
                # Command replies there may name visitors (!open, !monitor, escalations):
                # the control room keeps no more than the longest retention of chats.
                longest = max([general, *own.values()])
                await store.erasure.add(conn, "history", control, str(now - int(longest * 1000)))
            cutoff = now - int(await self.settings.seconds("contact_retention") * 1000)
            requests = await store.privacy.contact_requests_before(conn, cutoff)
            await self._requests_posted(conn, requests)
            cutoff = now - int(await self.settings.seconds("case_retention") * 1000)
            # A case's appointments go with it (their reminders and unsent mails too).
            ids = await store.appointments.ids_of_cases_before(conn, cutoff)
            await self._appointments_deleted(conn, ids, set())
            cases = await store.privacy.cases_before(conn, cutoff)
            for mxc in await store.privacy.exports_before(conn, cutoff):
                await store.erasure.add(conn, "media", None, mxc)
            years = await self.settings.count("audit_years")
            audit = await store.privacy.audit_before(conn, now - years * YEAR_MS)
        await store.erasure.prune(now - KEEP_DONE_MS)
        # A command's stored reply (kept so that a replayed event is not run twice) may name
        # a visitor: kept no longer than the chats themselves, and never over a week.
        await store.commands.prune(now - int(min(general * 1000, COMMANDS_KEPT_MS)))
        if requests or cases or audit:
            log.info(
                "Retention: %d contact requests, %d cases, %d audit records deleted",
                len(requests),
                cases,
                audit,
            )
        return erased + len(requests) + cases

    async def _appointments_deleted(self, conn: Any, ids: list[str], gone: set[str]) -> None:
        """Delete appointments; what Laura posted about them is redacted (except in rooms that
        are deleted whole)."""
        for room, event_id in await self.store.appointments.delete(conn, ids):
            if event_id is None:
                await self.store.erasure.add(conn, "room", room)  # its video room
            elif room not in gone:
                await self.store.erasure.add(conn, "redact", room, event_id)

    async def _requests_posted(self, conn: Any, requests: list[tuple[str, str | None]]) -> None:
        """Deleted contact requests: their posts in the contact room go too."""
        room = self.contact_room()
        if requests and room:
            for _, event_id in requests:
                if event_id:
                    await self.store.erasure.add(conn, "redact", room, event_id)
            oldest = await self.store.privacy.oldest_contact_request(conn)
            await self.store.erasure.add(conn, "history", room, str(oldest or ""))

    async def erase_chats(self, conversation_ids: list[str], actor: str) -> int:
        """Delete these chats' content now, each in its own transaction with the homeserver's
        part queued; returns how many were deleted (one deleted before counts not)."""
        store = self.store
        count = 0
        for conv_id in conversation_ids:
            async with transaction(store.db) as conn:
                erased = await store.privacy.erase_chat(conn, conv_id)
                if erased is None:
                    continue
                # A visitor's own booking belongs to the chat; a case's stays with the case.
                ids = await store.appointments.ids_of(conn, [conv_id], with_case=False)
                await self._appointments_deleted(conn, ids, set(erased.rooms))
                for room, event_id in erased.threads:
                    await store.erasure.add(conn, "thread", room, event_id)
                for room, event_id in erased.events:
                    await store.erasure.add(conn, "redact", room, event_id)
                for room in erased.rooms:
                    await store.erasure.add(conn, "room", room)
                for mxc in erased.media:
                    await store.erasure.add(conn, "media", None, mxc)
                for room in erased.dispatch_rooms:
                    # Back to the oldest chat still kept there (its request stays); none:
                    # up to when the purge runs, after the redactions queued before it.
                    oldest = await store.privacy.oldest_kept_in(conn, room)
                    await store.erasure.add(conn, "history", room, str(oldest or ""))
                await store.audit.record(actor, "deleted", conv_id, conn=conn)
            count += 1
            log.info("Chat %s deleted (%s)", conv_id, actor)
        return count

    async def _erase_sessions(self) -> int:
        count = 0
        for session_id, ghost_id in await self.store.privacy.sessions_done():
            async with transaction(self.store.db) as conn:
                erased = await self.store.privacy.erase_session(conn, session_id)
                if erased:
                    ghost = self.config.ghost_mxid(ghost_id)
                    await self.store.privacy.forget_user(conn, ghost)
                    await self.store.erasure.add(conn, "ghost", None, ghost)
            if erased:
                count += 1
                self.on_erased(session_id)
        return count

    async def forget(self, session: Session) -> None:
        """The visitor's "delete my data": an open chat is ended first (staff are told, as
        when a visitor ends it), then everything about them goes at once, except the audit
        trail's facts (who did what when, never what was said)."""
        if await self.store.privacy.open_chats_of(session.id):
            await self.end_chat(session)
        chats = await self.store.privacy.chats_of(session.id)
        # Appointments still to come are cancelled first: the client's calendar gets the
        # CANCEL (it stays in the outbox until sent), then every appointment of theirs goes.
        await self.cancel_appointments(chats)
        async with transaction(self.store.db) as conn:
            requests = await self.store.privacy.contact_requests_of(conn, session.id)
            await self._requests_posted(conn, requests)
            ids = await self.store.appointments.ids_of(conn, chats, with_case=True)
            await self._appointments_deleted(conn, ids, set())
        await self.erase_chats(await self.store.privacy.chats_of(session.id), "visitor")
        await self._erase_sessions()
        await self._checkpoint()
        self.kick_erasure()
        log.info("Session %s: the visitor deleted their data", session.id)

    async def deletion_date(self, conv: Conversation) -> tuple[str, str]:
        """(date, period) on which an ended chat will be deleted, for the staff notice."""
        keep = await self.settings.seconds_for("retention", conv.department_id)
        at = (conv.ended_at or now_ms()) + int(keep * 1000)
        tz = ZoneInfo(str(self.config["laura.timezone"]))
        when = datetime.fromtimestamp(at / 1000, tz)
        text = when.strftime("%d-%m-%Y %H:%M") if keep < 2 * 86400 else when.strftime("%d-%m-%Y")
        return text, format_duration(keep)

    async def _checkpoint(self) -> None:
        await checkpoint(self.store.db)
