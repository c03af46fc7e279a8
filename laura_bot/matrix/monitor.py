"""Monitoring (S15): a supervisor follows a live chat unseen, in a private mirror room.

Privacy: the supervisor never joins the consult room, so its member list, the visitor's widget
and the staff see nothing of it. Laura makes a private, unfederated room for each monitoring
session in which only she can write, and keeps it in step with the visitor's event stream: the
one record of the chat (what the visitor wrote, staff messages from the consult room, Laura's
own messages and status changes), so the supervisor reads what the visitor's side saw. Every
start and end is in the audit log with who and when, never content.

Store first: a start or an end is committed with its audit record before any Matrix work. A
pump per monitoring session then brings its room up to date, resumable from the database
(`last_seq`) and idempotent through stored txn ids; the KeyedRunner retries it with backoff,
and restore() resumes it after a restart.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from ..config import Config
from ..db import Store
from ..db.base import transaction
from ..db.conversations import Conversation
from ..db.events import Event
from ..db.monitors import Monitor, parse_key
from ..db.sessions import Session
from ..faults import describe, is_transient
from ..status import Status
from ..tasks import KeyedRunner
from ..textsafety import embedded
from ..util import now_ms
from . import content as c
from .bridge import MatrixBridge
from .rooms import power_levels

log = logging.getLogger(__name__)

# Ended sessions whose mirror room may still need closing after a restart are looked up this
# far back (closing takes seconds; a week covers any outage).
CLOSE_WITHIN_MS = 7 * 24 * 3600 * 1000
BATCH = 100  # events read at a time


@dataclass
class LiveChat:
    """A chat as the !monitor list shows it."""

    conversation: Conversation
    nickname: str
    topic: str


def mirror_power_levels() -> dict[str, Any]:
    """As every Laura room, and read-only: only Laura (the creator) may post anything, so
    the supervisor cannot write, react or invite there."""
    levels = power_levels()
    levels["events_default"] = 100
    levels["events"]["m.reaction"] = 100
    levels["events"]["m.room.redaction"] = 100
    return levels


class Monitors:
    def __init__(self, config: Config, store: Store, bridge: MatrixBridge) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.zone = ZoneInfo(str(config["laura.timezone"]))
        self.runner = KeyedRunner("monitor", self._pump)
        # session id → keys of the monitoring sessions that follow it (filled at start and
        # restore, emptied at the end): on_event must be cheap, it hears every event.
        self._by_session: dict[str, set[str]] = {}

    def may_monitor(self, user_id: str) -> bool:
        """Admins and the supervisors of the config."""
        return user_id in self.config["laura.admins"] or user_id in (
            self.config["laura.supervisors"] or []
        )

    # Following the stream ---------------------------------------------------------------------

    def on_event(self, session_id: str) -> None:
        """Notifier listener: a session got new events."""
        for key in self._by_session.get(session_id, ()):
            self.runner.kick(key)

    def _watch(self, session_id: str, key: str) -> None:
        self._by_session.setdefault(session_id, set()).add(key)

    def _unwatch(self, session_id: str, key: str) -> None:
        keys = self._by_session.get(session_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_session[session_id]

    # Starting and ending ----------------------------------------------------------------------

    async def live(self) -> list[LiveChat]:
        """The chats that can be followed, as !monitor lists and numbers them: connected ones
        (longest running first), then waiting ones (longest waiting first)."""
        convs = await self.store.conversations.all_by_status(Status.CONNECTED, Status.WAITING)
        connected = sorted(
            (c for c in convs if c.status == Status.CONNECTED),
            key=lambda c: (c.taken_at or 0, c.id),
        )
        waiting = [c for c in convs if c.status == Status.WAITING]
        return [LiveChat(c, "", "") for c in connected + waiting]

    async def describe(self, chat: LiveChat) -> LiveChat:
        """Fill in the nickname and topic (asked only for the chats shown)."""
        session = await self.store.sessions.get_by_id(chat.conversation.session_id)
        chat.nickname = session.nickname if session else "?"
        chat.topic = await self.topic(chat.conversation)
        return chat

    async def topic(self, conv: Conversation) -> str:
        dept = await self.store.departments.get_by_id(conv.department_id or "")
        return dept.label if dept else (conv.department_id or "-")

    def room_name(self, conv: Conversation, topic: str) -> str:
        return self.bridge.t("monitor_room_name", short=conv.id[:6], topic=topic)

    async def start(self, conv: Conversation, user_id: str) -> Monitor | None:
        """user_id starts following conv; None if they already do. The mirror room is made
        by the pump, right after."""
        async with transaction(self.store.db) as conn:
            mon = await self.store.monitors.start(conn, conv.id, user_id, now_ms())
            if mon is None:
                return None
            await self.store.audit.record(user_id, "monitor_start", conv.id, conn=conn)
        log.info("%s monitors conversation %s", user_id, conv.id)
        self._watch(conv.session_id, mon.key)
        self.runner.kick(mon.key)
        return mon

    async def active(self, conv: Conversation, user_id: str) -> Monitor | None:
        return await self.store.monitors.get_active(conv.id, user_id)

    async def stop(self, conv: Conversation, user_id: str) -> bool:
        """user_id stops following conv; False if they did not."""
        mon = await self.store.monitors.get_active(conv.id, user_id)
        return mon is not None and await self._end(mon, conv.session_id, "stopped")

    async def chat_ended(self, conv: Conversation) -> None:
        """The chat ended: its mirror rooms are closed."""
        for mon in await self.store.monitors.all_active(conv.id):
            await self._end(mon, conv.session_id, "chat_ended")

    async def _end(self, mon: Monitor, session_id: str, why: str) -> bool:
        async with transaction(self.store.db) as conn:
            if not await self.store.monitors.end(conn, mon, now_ms()):
                return False
            await self.store.audit.record(
                mon.user_id, "monitor_end", mon.conversation_id, detail=why, conn=conn
            )
        log.info("%s no longer monitors %s (%s)", mon.user_id, mon.conversation_id, why)
        self._unwatch(session_id, mon.key)
        self.runner.kick(mon.key)  # the rest of the chat, the final notice, closing the room
        return True

    async def restore(self) -> None:
        """At start-up: resume the mirrors of chats still monitored; end those whose chat
        ended while Laura was away; finish closing rooms a stop interrupted."""
        for mon in await self.store.monitors.all_active():
            conv = await self.store.conversations.get_by_id(mon.conversation_id)
            if conv is None:
                continue
            if conv.status == Status.ENDED:
                await self._end(mon, conv.session_id, "chat_ended")
            else:
                self._watch(conv.session_id, mon.key)
                self.runner.kick(mon.key)
        ended = await self.store.monitors.all_ended_since(now_ms() - CLOSE_WITHIN_MS)
        if not ended:
            return
        try:
            joined = set(await self.bridge.bot.get_joined_rooms())
        except Exception as e:
            log.warning("Could not list Laura's rooms to close mirror rooms: %s", describe(e))
            return
        for mon in ended:
            if mon.room_id in joined:
                self.runner.kick(mon.key)

    async def close(self) -> None:
        """At shutdown."""
        await self.runner.idle(timeout=5)
        await self.runner.close()

    # The pump ---------------------------------------------------------------------------------

    async def _pump(self, key: str) -> None:
        """Bring one mirror room up to date: make it, copy what is new, close it at the end."""
        mon = await self.store.monitors.get(*parse_key(key))
        if mon is None:
            return  # deleted with its chat
        conv = await self.store.conversations.get_by_id(mon.conversation_id)
        if conv is None:
            return
        session = await self.store.sessions.get_by_id(conv.session_id)
        if session is None:
            return
        if mon.ended_at is None and conv.status == Status.ENDED:
            # The chat ended while this session was being started: end it too.
            await self._end(mon, conv.session_id, "chat_ended")
            mon = await self.store.monitors.get(*parse_key(key))
            assert mon is not None
        if mon.room_id is None:
            if mon.ended_at is not None:
                return  # ended before it had a room: nothing to show or close
            mon.room_id = await self._make_room(conv, mon, session)
        if mon.last_seq == 0:
            intro = self.bridge.t(
                "monitor_intro", nickname=session.nickname, topic=await self.topic(conv)
            )
            await self.bridge.notice(mon.room_id, intro, txn_id=f"laura.mon.{mon.room_id}.intro")
        await self._copy(conv, session, mon)
        if mon.ended_at is not None:
            await self._close_room(conv, mon)

    async def _make_room(self, conv: Conversation, mon: Monitor, session: Session) -> str:
        topic = await self.topic(conv)
        room_id = await self.bridge.rooms.create_private_room(
            self.room_name(conv, topic),
            self.bridge.t("monitor_room_topic", short=conv.id[:6]),
            [mon.user_id],
            mirror_power_levels(),
        )
        await self.store.monitors.set_room(mon, room_id)
        log.info("Monitoring %s by %s has mirror room %s", conv.id, mon.user_id, room_id)
        return room_id

    async def _copy(self, conv: Conversation, session: Session, mon: Monitor) -> None:
        """Every event of the chat after last_seq (up to the end of the session, if it
        ended) as a notice. last_seq moves after each send, so a restart neither loses nor
        repeats a line; a send tried before is recognised by its txn id."""
        assert mon.room_id
        stored = mon.last_seq
        while events := await self.store.events.after(conv.session_id, mon.last_seq, BATCH):
            for ev in events:
                if mon.ended_at is not None and ev.ts > mon.ended_at:
                    return
                line = self._line(ev, session) if ev.conversation_id == conv.id else None
                if line:
                    await self.bridge.sender.send(
                        mon.room_id, c.notice(line), txn_id=f"laura.mon.{mon.room_id}.{ev.seq}"
                    )
                    await self.store.monitors.advance(mon, ev.seq)
                    stored = ev.seq
                mon.last_seq = ev.seq
            if stored < mon.last_seq:  # past events not shown (typing, other chats)
                await self.store.monitors.advance(mon, mon.last_seq)
                stored = mon.last_seq

    def _line(self, ev: Event, session: Session) -> str | None:
        """'HH:MM Name: text' for a message, 'HH:MM · what happened' for a status change;
        None for what a reader need not see (typing, queue places)."""
        t = self.bridge.t
        when = datetime.fromtimestamp(ev.ts / 1000, self.zone).strftime("%H:%M")
        data = json.loads(ev.data) if ev.data else {}
        if ev.type == "message":
            if ev.sender == "visitor":
                name = session.nickname
            else:
                name = ev.name or ("Laura" if ev.sender == "bot" else "?")
            attachment = data.get("attachment")
            if isinstance(attachment, dict):
                text = t("monitor_file", name=str(attachment.get("name") or "?"))
            else:
                text = embedded(ev.body or "") if ev.sender == "visitor" else ev.body or ""
            return f"{when} {name}: {text}"
        if ev.type == "status" and data.get("status") in (
            Status.WAITING,
            Status.CONNECTED,
            Status.CONTACT,
            Status.ENDED,
        ):
            return f"{when} · {t('monitor_status_' + str(data['status']))}"
        if ev.type == "video":
            if data.get("video") == "started":
                return f"{when} · {t('monitor_video_started', name=str(data.get('name') or ''))}"
            return f"{when} · {t('monitor_video_ended')}"
        return None

    async def _close_room(self, conv: Conversation, mon: Monitor) -> None:
        """The final notice, the supervisor out, Laura out: the room is left to nobody."""
        assert mon.room_id and mon.ended_at is not None
        by_chat = conv.status == Status.ENDED and (conv.ended_at or 0) <= mon.ended_at
        text = self.bridge.t("monitor_ended_chat" if by_chat else "monitor_ended_stopped")
        await self.bridge.notice(mon.room_id, text, txn_id=f"laura.mon.{mon.room_id}.end")
        room, user = RoomID(mon.room_id), UserID(mon.user_id)
        try:
            await self.bridge.bot.kick_user(room, user, reason=self.bridge.t("monitor_kick"))
        except MatrixRequestError as e:
            if is_transient(e):
                raise
            log.info("Could not remove %s from mirror room %s: %s", user, room, e.errcode)
        await self.bridge.bot.leave_room(room)
        log.info("Mirror room %s of %s closed", room, conv.id)
