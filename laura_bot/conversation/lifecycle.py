"""A conversation's moves, shared by the visitor's side, the staff's side and the timers.

Every state change happens in one transaction that also appends the events the visitor will see
(with a per-session seq without gaps) and marks what must still go to the consult room. Matrix
I/O happens afterwards, in the bridge, which is kicked here and retries with stored txn ids.
Each move is the same few steps: transition, say, status event, leave the queue, notify.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..config import Config
from ..db import Store
from ..db.base import transaction
from ..db.conversations import OPEN_STATES, Conversation, Status
from ..db.outbound import about_chat
from ..db.sessions import Session
from ..dispatch.routing import Routing
from ..errors import Conflict, ErrorCode, TooManyRequests
from ..faults import describe
from ..notifier import Notifier
from ..queue import Queues
from ..scheduler import Clock
from ..settings import Settings
from ..tasks import Kick
from ..texts import render
from ..util import new_txn_id, now_ms

log = logging.getLogger(__name__)

Hook = Callable[[Conversation], Awaitable[None]]


class Lifecycle:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        clock: Clock,
        kick_matrix: Kick,
        routing: Routing,
        schedule: Callable[[str], Awaitable[None]],
    ) -> None:
        """schedule(conversation id): arm a waiting chat's timers (timers.Timers.schedule)."""
        self.config = config
        self.store = store
        self.db = store.db
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.kick_matrix = kick_matrix
        self.routing = routing
        self.schedule = schedule
        self.queues = Queues(store, settings, notifier, clock)
        # Parts that follow the chat (typing, video, monitors): told after the change is
        # committed. They register here at start-up (they are made after the conversation).
        self.after_visitor_message: list[Hook] = []
        self.after_end: list[Hook] = []

    def text(self, session: Session, text_id: str, /, **values: Any) -> str:
        return render(self.config.text(session.language, text_id), **values)

    async def session_of(self, conv: Conversation) -> Session:
        session = await self.store.sessions.get_by_id(conv.session_id)
        assert session is not None
        return session

    async def current(self, session: Session) -> Conversation:
        assert session.conversation_id is not None
        conv = await self.store.conversations.get_by_id(session.conversation_id)
        assert conv is not None
        return conv

    async def enter_queue(
        self,
        session: Session,
        from_states: tuple[str, ...],
        refusal: Conflict,
        text_id: str,
        text_values: dict[str, Any],
        also: Callable[[Any, Conversation], Awaitable[None]] | None = None,
        front: bool = False,
        **fields: object,
    ) -> None:
        """Start a dispatch round: waiting, fresh deadlines and a new dispatch message.

        A new arrival (a department_id in fields) gets its place from the database: behind
        everyone already in that queue, decided under a lock on the queue, so the order of the
        queue is the order of commits and nobody is told a place that a slower arrival with an
        earlier clock later takes."""
        conv = await self.current(session)
        timeout = await self.settings.seconds("dispatch_timeout")
        escalation = await self.settings.seconds("escalation_after")
        async with transaction(self.db) as conn:
            now = now_ms()
            if "department_id" in fields:
                fields["queued_at"] = await self.store.conversations.next_place(
                    conn, str(fields["department_id"]), now
                )
            elif front and conv.department_id:  # handed back: first in line again
                fields["queued_at"] = await self.store.conversations.front_place(
                    conn, conv.department_id, now
                )
            moved = await self.store.conversations.transition(
                conn,
                conv.id,
                from_states,
                Status.WAITING,
                dispatch_deadline=now + int(timeout * 1000),
                next_queue_update=None,  # one timer per department now (queue.py)
                dispatch_txn_id=new_txn_id(),
                escalate_at=now + int(escalation * 1000),
                escalation_level=0,
                escalation_posted=0,
                offered_to=None,
                offer_deadline=None,
                dispatch_event_id=None,
                dispatch_outcome_sent=None,
                last_position=None,
                **fields,
            )
            if not moved:
                raise refusal
            if not front:  # a chat handed back by staff is never refused for the cap
                await self.within_waiting_cap(conn, session, conv)
            if "department_id" in fields:  # a new arrival (not "keep waiting", not handed back)
                await self.store.outbound.record(
                    conn,
                    about_chat(
                        "chat.started", conv.id, str(fields["department_id"]), status="waiting"
                    ),
                )
            if also:
                await also(conn, conv)
            await self.say(conn, session, conv, text_id, to_matrix=True, **text_values)
            await self.store.events.append(
                conn, session.id, conv.id, "status", data={"status": Status.WAITING}
            )
        department_id = str(fields.get("department_id") or conv.department_id)
        queued_at = int(fields.get("queued_at") or conv.queued_at or now)  # type: ignore[call-overload]
        # Into the index at once, with no await before it: arrivals reach it in the order of
        # their commits, so nobody is told a place that an arrival committed earlier (but
        # slower to get here) then takes from them.
        await self.queues.add(department_id, conv.id, session.id, queued_at)
        log.info("Conversation %s waiting in %s", conv.id, department_id)
        # Decide whom to ask before the dispatch message goes out, so it carries the mentions.
        try:
            await self.routing.consider(department_id)
        except Exception as e:
            log.warning("Routing %s failed (%s); retrying", department_id, describe(e))
            self.routing.kick(department_id)
        self.kick_matrix(conv.id)
        await self.schedule(conv.id)
        self.notifier.notify(session.id)

    async def within_waiting_cap(self, conn: Any, session: Session, conv: Conversation) -> None:
        """Abuse cap: at most web.max_waiting_per_address chats from one address wait at once,
        so a script cannot push real visitors down the queue. Counted in the transaction that
        puts this chat in the queue (it counts itself): the database decides the race. It holds
        for a topic choice and for "keep waiting" alike."""
        cap = int(self.config["web.max_waiting_per_address"])
        if not session.client_key or not cap:
            return
        if await self.store.sessions.count_waiting_by_client(conn, session.client_key) > cap:
            log.info("Conversation %s refused: its address has %s waiting", conv.id, cap)
            raise TooManyRequests(
                "Several chats from your network are already waiting for an answer. "
                "Please try again in a few minutes.",
                code=ErrorCode.TOO_MANY_WAITING,
                retry_after=60,
            )

    async def tell(
        self, hooks: list[Callable[[Conversation], Awaitable[None]]], conv: Conversation
    ) -> None:
        for hook in hooks:
            try:
                await hook(conv)
            except Exception as e:  # what is committed stands; the hook's part is logged
                log.warning("Follow-up of %s failed: %s", conv.id, describe(e))

    async def requeue(self, conv: Conversation, reason: str) -> bool:
        """The last staff member left a running chat (or handed it back with !leave queue):
        the visitor goes back to the queue, at the front, in a new dispatch round. Whoever
        takes it is invited to the same consult room and reads everything."""
        if conv.status != Status.CONNECTED or not conv.department_id:
            return False
        session = await self.session_of(conv)
        try:
            await self.enter_queue(
                session,
                (Status.CONNECTED,),
                Conflict("not connected", code=ErrorCode.NOT_CONNECTED),
                "requeued",
                {},
                also=lambda conn, _: self.store.answers.reset(conn, conv.id),
                front=True,
                taker=None,
                taker_name=None,
                taken_at=None,
                idle_warned=False,
                idle_deadline=None,
            )
        except Conflict:
            return False
        log.info("Conversation %s back in the queue (%s)", conv.id, reason)
        return True

    async def end(
        self,
        session: Session,
        conv: Conversation,
        ended_by: str,
        text_id: str,
        from_states: tuple[str, ...] = OPEN_STATES,
        also: Callable[[Any], Awaitable[None]] | None = None,
    ) -> bool:
        """End a conversation in one transaction (with `also` in it); False if not open."""
        async with transaction(self.db) as conn:
            moved = await self.store.conversations.transition(
                conn,
                conv.id,
                from_states,
                Status.ENDED,
                ended_at=now_ms(),
                ended_by=ended_by,
                dispatch_deadline=None,
                next_queue_update=None,
            )
            if not moved:
                return False
            if also:
                await also(conn)
            if conv.status != Status.CHOOSING:  # a chat that began (chat.started)
                await self.store.outbound.record(
                    conn,
                    about_chat(
                        "chat.ended",
                        conv.id,
                        conv.department_id,
                        status="ended",
                        ended_by=ended_by,
                    ),
                )
            if await self.store.conversations.end_video(conn, conv.id):
                # A call during the chat ends with it: the widget leaves the room too.
                await self.store.events.append(
                    conn, session.id, conv.id, "video", data={"video": "ended"}
                )
            await self.say(conn, session, conv, text_id)
            await self.store.events.append(
                conn, session.id, conv.id, "status", data={"status": Status.ENDED}
            )
        log.info("Conversation %s ended (%s)", conv.id, ended_by)
        await self.after_leaving_queue(conv)
        if conv.status == Status.CONNECTED or conv.taker:
            await self.routing.kick_all()  # its staff have room for another chat now
        self.notifier.notify(session.id)
        ended = await self.store.conversations.get_by_id(conv.id)
        await self.tell(self.after_end, ended or conv)
        return True

    async def say(
        self,
        conn: Any,
        session: Session,
        conv: Conversation,
        text_id: str,
        /,
        to_matrix: bool = False,
        **values: Any,
    ) -> None:
        await self.store.events.append(
            conn,
            session.id,
            conv.id,
            "message",
            sender="bot",
            name="Laura",
            body=self.text(session, text_id, **values),
            to_matrix=to_matrix,
        )

    async def after_leaving_queue(self, conv: Conversation) -> None:
        self.clock.cancel(f"dispatch:{conv.id}")
        self.clock.cancel(f"escalate:{conv.id}")
        self.clock.cancel(f"offer:{conv.id}")
        self.clock.cancel(f"idle:{conv.id}")
        self.kick_matrix(conv.id)
        if conv.department_id:
            await self.queues.remove(conv.department_id, conv.id)
            self.routing.kick(conv.department_id)  # asks for this chat no longer hold anyone

    async def ask_contact(self, conv: Conversation, reason: str) -> bool:
        session = await self.session_of(conv)
        async with transaction(self.db) as conn:
            moved = await self.store.conversations.transition(
                conn,
                conv.id,
                (Status.WAITING,),
                Status.CONTACT,
                dispatch_deadline=None,
                next_queue_update=None,
                # Why nobody took it, on the skeleton that outlives the chat's content (reports).
                missed="declined" if reason == "all declined" else "timeout",
            )
            if not moved:
                return False
            await self.store.outbound.record(
                conn,
                about_chat(
                    "chat.missed",
                    conv.id,
                    conv.department_id,
                    status="contact",
                    reason="declined" if reason == "all declined" else reason,
                ),
            )
            await self.say(conn, session, conv, "ask_contact", to_matrix=True)
            await self.store.events.append(
                conn, session.id, conv.id, "status", data={"status": Status.CONTACT}
            )
        log.info("Conversation %s: asking for contact details (%s)", conv.id, reason)
        await self.after_leaving_queue(conv)
        self.notifier.notify(session.id)
        return True
