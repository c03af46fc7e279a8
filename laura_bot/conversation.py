"""Conversations: the domain rules, decided in the database.

Every state change happens in one transaction that also appends the events the visitor will see
(with a per-session seq without gaps) and marks what must still go to the consult room. Matrix
I/O happens afterwards, in the bridge, which is kicked here and retries with stored txn ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from . import portal
from .config import Config
from .db import Store
from .db.base import transaction
from .db.contact_requests import ContactRequest
from .db.conversations import OPEN_STATES, Conversation, Status
from .db.departments import Department
from .db.sessions import Session
from .dispatch.routing import Routing
from .errors import (
    BadRequest,
    Conflict,
    ErrorCode,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
)
from .faults import describe
from .notifier import Notifier
from .queue import Queues
from .scheduler import Clock
from .settings import Settings
from .tasks import Kick
from .texts import render
from .textsafety import clean_name, imitates_marker
from .util import new_txn_id, now_ms, random_id, valid_email

log = logging.getLogger("laura.conversation")

_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,25}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _chosen_name(value: str | None) -> str | None:
    """A name the visitor typed, cleaned (textsafety.clean_name); refused when it holds the
    words of Laura's portal statement, which would make staff take it for a signed-in
    visitor."""
    name = clean_name(value)
    if name and imitates_marker(name):
        raise BadRequest(
            "This name cannot be used: it holds words Laura uses for a visitor who signed in "
            "on the portal. Choose another name, or leave it empty.",
            code=ErrorCode.BAD_NAME,
        )
    return name


class Conversations:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        clock: Clock,
        kick_matrix: Kick,
        kick_contacts: Callable[[], None],
        routing: Routing,
    ) -> None:
        self.config = config
        self.store = store
        self.db = store.db
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.kick_matrix = kick_matrix
        self.kick_contacts = kick_contacts
        self.routing = routing
        self.queues = Queues(store, settings, notifier, clock)
        self._address_secret: bytes | None = None
        # Parts that follow the chat (typing, video): told after the change is committed.
        self.after_visitor_message: list[Callable[[Conversation], Awaitable[None]]] = []
        self.after_end: list[Callable[[Conversation], Awaitable[None]]] = []

    # Helpers ----------------------------------------------------------------------------------

    def text(self, session: Session, text_id: str, /, **values: Any) -> str:
        return render(self.config.text(session.language, text_id), **values)

    async def _session_of(self, conv: Conversation) -> Session:
        session = await self.store.sessions.get_by_id(conv.session_id)
        assert session is not None
        return session

    # Visitor side -----------------------------------------------------------------------------

    async def create_session(
        self,
        name: str | None,
        email: str | None,
        language: str | None,
        client_address: str | None = None,
        consent: bool = False,
        identity: Any = None,
    ) -> tuple[Session, str]:
        """client_address is kept only as a keyed hash (Session.client_key), for abuse caps.
        With web.consent, a chat needs the visitor's consent to the privacy statement. In
        portal mode, identity is the portal's signed token: its name and e-mail stand, and
        without one the chat may be refused (web.portal_required)."""
        lang = self._language(language)
        if self.config["web.consent"] and not consent:
            raise BadRequest(
                "Agree to the privacy statement first (consent: true).",
                code=ErrorCode.CONSENT_REQUIRED,
            )
        verified = portal.verify(
            identity, self.config["web.portal_secret"] or "", self.config["web.portal_required"]
        )
        if verified:
            # What staff see as verified is the portal's alone: a name or e-mail it did not
            # sign is none (never one typed, which would then look vouched for).
            name, email = verified.name, verified.email
            name = clean_name(name)
        else:
            name = _chosen_name(name)
        session_id = random_id(12)
        token = f"{session_id}.{secrets.token_urlsafe(32)}"
        conv_id = random_id(12)
        client_key = await self._client_key(client_address) if client_address else None
        welcome = await self.settings.text("welcome_message")
        async with transaction(self.db) as conn:
            session = await self.store.sessions.create(
                conn,
                session_id,
                hash_token(token),
                name,
                email,
                lang,
                random_id(10),
                client_key,
                verified.id if verified else None,
            )
            await self.store.conversations.create(conn, conv_id, session_id)
            await self._opening(conn, session, conv_id, welcome)
            if consent:
                # When the visitor agreed to the privacy statement: a fact for the audit trail.
                await self.store.audit.record("visitor", "consented", conv_id, conn=conn)
        session.conversation_id = conv_id
        log.info("Session %s created", session_id)
        return session, token

    async def _opening(self, conn: Any, session: Session, conv_id: str, welcome: str) -> None:
        """A new chat's first events: choosing a topic, and the welcome message."""
        await self.store.events.append(
            conn, session.id, conv_id, "status", data={"status": Status.CHOOSING}
        )
        await self.store.events.append(
            conn,
            session.id,
            conv_id,
            "message",
            sender="bot",
            name="Laura",
            # An admin's welcome that cannot be used (templates.py) is the built-in one.
            body=self.settings.filled_in("welcome_message", welcome)
            or self.text(session, "welcome"),
            to_matrix=True,
        )

    async def _client_key(self, address: str) -> str:
        """The keyed hash stored as session.client_key for a network address.

        Privacy: the address itself is never stored. An HMAC with a random secret (made once,
        kept in the setting table) cannot be reversed by trying all IPv4 addresses, as a plain
        hash could; it only tells whether two chats came from the same address."""
        if self._address_secret is None:
            self._address_secret = await self.store.settings.secret("secret.client_key")
        return hmac.new(self._address_secret, address.encode(), hashlib.sha256).hexdigest()

    async def authenticate(self, session_id: str, authorization: str | None) -> Session:
        """Bearer token → the caller's session. No/garbled/wrong token → 401; someone else's (or
        an unknown) session → 404, the same answer in both cases."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110)
            raise Unauthorized("Missing bearer token.", code=ErrorCode.MISSING_TOKEN)
        token = token.strip()
        own_id, _, secret = token.partition(".")
        # Only a token of our own alphabet reaches the database (a header may hold any bytes).
        ours = bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,128}", token))
        session = await self.store.sessions.get_by_id(own_id) if ours and secret else None
        expected = session.token_hash if session else hash_token("x" * 16)
        if not hmac.compare_digest(expected, hash_token(token if ours else "")) or not session:
            raise Unauthorized("Invalid token.", code=ErrorCode.INVALID_TOKEN)
        if not session_id.isascii() or not hmac.compare_digest(session.id, session_id):
            raise NotFound("No such session.", code=ErrorCode.SESSION_NOT_FOUND)
        return session

    async def current(self, session: Session) -> Conversation:
        assert session.conversation_id is not None
        conv = await self.store.conversations.get_by_id(session.conversation_id)
        assert conv is not None
        return conv

    async def view(self, session: Session) -> dict[str, Any]:
        conv = await self.current(session)
        position = None
        if conv.status == Status.WAITING and conv.department_id:
            position = await self.queues.position(conv.department_id, conv.id)
        staff = await self.store.staff.joined(conv.id)
        return {
            "session_id": session.id,
            "status": conv.status,
            "topic": conv.department_id,
            "queue_position": position,
            "staff": [{"name": name} for _, name in staff],
            "conversation_id": conv.id,
            "can_rate": conv.status == Status.ENDED and bool(conv.taker) and conv.rating is None,
            "rating": conv.rating,
        }

    async def topics(self) -> list[dict[str, Any]]:
        """What the widget offers: one topic per department that has its dispatch room,
        available when the department is open and someone there can take a chat now."""
        available = await self.routing.topic_availability()
        return [
            {"id": d.id, "label": d.label, "available": available.get(d.id, False)}
            for d in await self.store.departments.all_active()
            if d.room_id
        ]

    def out_of_office(self, language: str) -> str:
        return render(self.config.text(language, "out_of_office"))

    def consent(self, language: str) -> dict[str, Any]:
        """The consent step the widget shows before a chat (web.consent)."""
        return {
            "required": bool(self.config["web.consent"]),
            "text": render(self.config.text(language, "consent")),
            "privacy_url": self.config["web.privacy_url"] or None,
        }

    async def _department(self, topic_id: Any) -> Department:
        if not isinstance(topic_id, str) or not 1 <= len(topic_id) <= 64:
            raise BadRequest(
                "topic_id must be a topic's id, a short string.", code=ErrorCode.BAD_TOPIC
            )
        dept = await self.store.departments.get_by_id(topic_id)
        if dept is None or not dept.active or not dept.room_id:
            raise BadRequest(
                f"Unknown topic {topic_id[:40]!r}; GET /api/v1/widget lists them.",
                code=ErrorCode.UNKNOWN_TOPIC,
            )
        return dept

    async def choose_topic(self, session: Session, topic_id: Any) -> None:
        dept = await self._department(topic_id)
        if not await self.routing.is_open(dept.id, dept.hours):
            raise Conflict(
                f"{dept.label} is closed right now. Leave your phone number or e-mail address "
                "(POST .../contact-request) and we will get back to you.",
                code=ErrorCode.TOPIC_CLOSED,
            )
        await self._enter_queue(
            session,
            (Status.CHOOSING,),
            Conflict(
                "A topic was already chosen for this chat.", code=ErrorCode.TOPIC_ALREADY_CHOSEN
            ),
            "topic_chosen",
            {"topic": dept.label},
            department_id=dept.id,
            dispatch_room_id=dept.room_id,
        )

    async def _enter_queue(
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
                await self._within_waiting_cap(conn, session, conv)
            if also:
                await also(conn, conv)
            await self._say(conn, session, conv, text_id, to_matrix=True, **text_values)
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

    async def _within_waiting_cap(self, conn: Any, session: Session, conv: Conversation) -> None:
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

    async def visitor_message(self, session: Session, body: Any, client_txn_id: Any) -> int:
        if not isinstance(body, str) or not body.strip():
            raise BadRequest("body must be a non-empty string.", code=ErrorCode.BAD_BODY)
        if not isinstance(client_txn_id, str) or not 1 <= len(client_txn_id) <= 64:
            raise BadRequest(
                "client_txn_id must be a string of 1 to 64 characters.",
                code=ErrorCode.BAD_CLIENT_TXN_ID,
            )
        limit = self.config["web.max_message_length"]
        if len(body) > limit:
            raise TooLarge(
                f"The message is too long: at most {limit} characters.",
                code=ErrorCode.MESSAGE_TOO_LONG,
            )
        conv = await self.current(session)
        if conv.status == Status.ENDED:
            # A retry of a message stored before the chat ended gets its answer again.
            existing = await self.store.events.seq_for_client_txn(session.id, client_txn_id)
            if existing is not None:
                return existing
            raise Conflict(
                "This chat has ended; start a new chat to ask something else.",
                code=ErrorCode.CHAT_ENDED,
            )
        now = now_ms()
        try:
            async with transaction(self.db) as conn:
                seq = await self.store.events.append(
                    conn,
                    session.id,
                    conv.id,
                    "message",
                    sender="visitor",
                    name=session.nickname,
                    body=body,
                    client_txn_id=client_txn_id,
                    to_matrix=True,
                    ts=now,
                )
                waiting_room = conv.status in (Status.WAITING, Status.CONTACT)
                await self.store.conversations.spoke(conn, conv.id, "visitor", now, waiting_room)
        except Exception:
            # A retry with the same client_txn_id (the widget's, when an answer was lost), or
            # a concurrent one that won the unique index: the message is there once.
            existing = await self.store.events.seq_for_client_txn(session.id, client_txn_id)
            if existing is None:
                raise
            return existing
        if conv.room_id or conv.status != Status.CHOOSING:
            # A message in a running chat goes before arrivals' requests waiting their turn,
            # and its way to the homeserver starts before this request is answered.
            urgent = conv.status == Status.CONNECTED
            self.kick_matrix(conv.id, urgent=urgent)
            if urgent:
                await asyncio.sleep(0)
        # The visitor's other tabs get it as it is stored (Event.to_api), without a read.
        event = {"seq": seq, "ts": now, "type": "message", "sender": "visitor"}
        self.notifier.notify(session.id, [event | {"name": session.nickname, "body": body}])
        await self._tell(self.after_visitor_message, conv)
        return seq

    async def _tell(
        self, hooks: list[Callable[[Conversation], Awaitable[None]]], conv: Conversation
    ) -> None:
        for hook in hooks:
            try:
                await hook(conv)
            except Exception as e:  # what is committed stands; the hook's part is logged
                log.warning("Follow-up of %s failed: %s", conv.id, describe(e))

    async def events(self, session: Session, after: int, timeout: float) -> tuple[list, int]:
        """A long poll: what came after the cursor, waiting up to timeout for something."""
        with self.notifier.watch(session.id) as watch:  # before the read: no notify is missed
            events = await self.store.events.after(session.id, after)
            if not events and timeout > 0 and await watch.wait(timeout) and not watch.closed:
                fresh = watch.take(after)
                if fresh:
                    return fresh, int(fresh[-1]["seq"])
                events = await self.store.events.after(session.id, after)
        nxt = events[-1].seq if events else after
        return [e.to_api() for e in events], nxt

    async def stream(
        self,
        session: Session,
        after: int,
        send: Callable[[list[dict[str, Any]], int], Awaitable[None]],
        duration: float,
        keepalive: Callable[[], Awaitable[None]],
        keepalive_every: float = 20,
    ) -> None:
        """An event stream: send(events, next) at once with what came after the cursor (even
        if nothing did), then each time something new comes, for duration seconds; keepalive()
        when nothing came for keepalive_every. The events a notify carries are sent without
        reading the database (a queue round reaches thousands of streams)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        cursor, read, first = after, True, True
        with self.notifier.watch(session.id) as watch:
            while not watch.closed:
                while read:
                    events = await self.store.events.after(session.id, cursor)
                    if events or first:
                        cursor = events[-1].seq if events else cursor
                        await send([e.to_api() for e in events], cursor)
                        first = False
                    read = len(events) >= 200  # a page: read on
                left = deadline - loop.time()
                if left <= 0:
                    return
                if not await watch.wait(min(keepalive_every, left)):
                    if deadline - loop.time() > 0:
                        await keepalive()
                    continue
                if watch.closed:
                    return
                fresh = watch.take(cursor)
                if fresh is None:
                    read = True
                elif fresh:
                    cursor = int(fresh[-1]["seq"])
                    await send(fresh, cursor)

    async def contact_request(self, session: Session, data: dict[str, Any]) -> None:
        fields: dict[str, str | None] = {}
        for key, limit, code in (
            ("name", 100, ErrorCode.BAD_NAME),
            ("phone", 30, ErrorCode.BAD_PHONE),
            ("email", 254, ErrorCode.BAD_EMAIL),
            ("message", 2000, ErrorCode.BAD_MESSAGE),
        ):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"{key} must be a string.", code=code)
            value = value.strip() if value else None
            if value and len(value) > limit:
                raise BadRequest(f"{key} is too long: at most {limit} characters.", code=code)
            fields[key] = (_chosen_name(value) if key == "name" else value) or None
        if not fields["phone"] and not fields["email"]:
            raise BadRequest(
                "Give a phone number or an e-mail address so we can reach you.",
                code=ErrorCode.CONTACT_REQUIRED,
            )
        if fields["phone"] and (
            not _PHONE.match(fields["phone"]) or sum(c.isdigit() for c in fields["phone"]) < 6
        ):
            raise BadRequest(
                "That phone number does not look right; use digits, spaces and +.",
                code=ErrorCode.BAD_PHONE,
            )
        if fields["email"] and not valid_email(fields["email"]):
            raise BadRequest("That e-mail address does not look right.", code=ErrorCode.BAD_EMAIL)
        conv = await self.current(session)
        # Before a topic is chosen (the widget's offline form), the visitor may say which
        # department it is for.
        topic = data.get("topic_id")
        dept = await self._department(topic) if topic is not None else None

        async def store_request(conn: Any) -> None:
            if dept is not None and conv.status == Status.CHOOSING:
                await self.store.conversations.set_fields(conv.id, conn, department_id=dept.id)
            request = ContactRequest(
                id=random_id(12),
                conversation_id=conv.id,
                name=fields["name"] or session.name,
                phone=fields["phone"],
                email=fields["email"],
                message=fields["message"],
                mx_txn_id=new_txn_id(),
            )
            await self.store.contact_requests.add(conn, request)

        if not await self._end(
            session,
            conv,
            "contact",
            "contact_thanks",
            (Status.CHOOSING, Status.WAITING, Status.CONTACT),
            store_request,
        ):
            raise Conflict(
                "Contact details can be left only before or while waiting, or when Laura asks "
                "for them.",
                code=ErrorCode.CONTACT_NOT_POSSIBLE,
            )
        self.kick_contacts()

    async def end_by_visitor(self, session: Session, reason: str | None) -> None:
        """Ending twice is fine: the session already says "ended"."""
        conv = await self.current(session)
        text = "contact_declined" if reason == "declined_contact" else "ended_by_visitor"
        await self._end(session, conv, "visitor", text)

    async def restart(self, session: Session) -> None:
        """A new chat in the same session after the last one ended: the visitor keeps their
        details and can still read the old chat (its events stay in their stream)."""
        conv = await self.current(session)
        if conv.status != Status.ENDED:
            raise Conflict(
                "This chat is still going; end it before starting a new one.",
                code=ErrorCode.CHAT_NOT_ENDED,
            )
        welcome = await self.settings.text("welcome_message")
        new_id = random_id(12)
        async with transaction(self.db) as conn:
            # Only from the chat that ended: two restarts at once make one new chat.
            if not await self.store.conversations.create_next(conn, new_id, session.id, conv.id):
                return
            await self._opening(conn, session, new_id, welcome)
        session.conversation_id = new_id
        log.info("Session %s: new chat %s after %s", session.id, new_id, conv.id)
        self.notifier.notify(session.id)

    async def rate(self, session: Session, data: dict[str, Any]) -> None:
        """1-5 stars for the chat that just ended; 1 or 2 need a comment; once."""
        stars = data.get("stars")
        if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
            raise BadRequest("stars must be a whole number from 1 to 5.", code=ErrorCode.BAD_STARS)
        comment = data.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise BadRequest("comment must be a string.", code=ErrorCode.BAD_COMMENT)
        comment = (comment or "").strip() or None
        if comment and len(comment) > 2000:
            raise BadRequest(
                "The comment is too long: at most 2000 characters.", code=ErrorCode.BAD_COMMENT
            )
        if stars <= 2 and not comment:
            raise BadRequest(
                "Please tell us in a few words what went wrong (a comment is needed with 1 or "
                "2 stars).",
                code=ErrorCode.COMMENT_REQUIRED,
            )
        conv = await self.current(session)
        asked = data.get("conversation_id")
        if asked is not None and asked != conv.id:
            # A page that still shows an older chat: that one cannot be rated any more.
            raise Conflict("That chat can no longer be rated.", code=ErrorCode.NOT_RATABLE)
        if conv.status != Status.ENDED or not conv.taker:
            raise Conflict(
                "Only a chat with a staff member that has ended can be rated.",
                code=ErrorCode.NOT_RATABLE,
            )
        if not await self.store.conversations.rate(conv.id, stars, comment, new_txn_id()):
            raise Conflict("This chat was rated already.", code=ErrorCode.ALREADY_RATED)
        log.info("Conversation %s rated", conv.id)
        self.kick_matrix(conv.id)  # the rating goes to the consult room

    async def requeue(self, conv: Conversation, reason: str) -> bool:
        """The last staff member left a running chat (or handed it back with !leave queue):
        the visitor goes back to the queue, at the front, in a new dispatch round. Whoever
        takes it is invited to the same consult room and reads everything."""
        if conv.status != Status.CONNECTED or not conv.department_id:
            return False
        session = await self._session_of(conv)
        try:
            await self._enter_queue(
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

    async def _end(
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
            if await self.store.conversations.end_video(conn, conv.id):
                # A call during the chat ends with it: the widget leaves the room too.
                await self.store.events.append(
                    conn, session.id, conv.id, "video", data={"video": "ended"}
                )
            await self._say(conn, session, conv, text_id)
            await self.store.events.append(
                conn, session.id, conv.id, "status", data={"status": Status.ENDED}
            )
        log.info("Conversation %s ended (%s)", conv.id, ended_by)
        await self._after_leaving_queue(conv)
        if conv.status == Status.CONNECTED or conv.taker:
            await self.routing.kick_all()  # its staff have room for another chat now
        self.notifier.notify(session.id)
        ended = await self.store.conversations.get_by_id(conv.id)
        await self._tell(self.after_end, ended or conv)
        return True

    async def _say(
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

    async def _after_leaving_queue(self, conv: Conversation) -> None:
        self.clock.cancel(f"dispatch:{conv.id}")
        self.clock.cancel(f"escalate:{conv.id}")
        self.clock.cancel(f"offer:{conv.id}")
        self.clock.cancel(f"idle:{conv.id}")
        self.kick_matrix(conv.id)
        if conv.department_id:
            await self.queues.remove(conv.department_id, conv.id)
            self.routing.kick(conv.department_id)  # asks for this chat no longer hold anyone

    # Queue and timers -------------------------------------------------------------------------

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

    async def close(self) -> None:
        await self.queues.close()

    async def dispatch_timeout(self, conv_id: str) -> None:
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING:
            return
        if conv.dispatch_deadline and conv.dispatch_deadline > now_ms() + 50:
            await self.schedule(conv.id)  # the deadline moved (e.g. a shorter !set); re-arm
            return
        await self.ask_contact(conv, reason="timeout")

    def _language(self, language: str | None) -> str:
        languages = self.config["laura.languages"]
        lang = language or languages[0]
        if lang not in languages:
            raise BadRequest(
                f"Language must be one of: {', '.join(languages)}.", code=ErrorCode.BAD_LANGUAGE
            )
        return str(lang)

    async def set_language(self, session: Session, language: str | None) -> Session:
        """The visitor switched the widget's language: what Laura tells them from now on (queue
        places, the end of the chat, the transcript) is in that language."""
        lang = self._language(language)
        await self.store.sessions.set_language(session.id, lang)
        return replace(session, language=lang)

    async def keep_waiting(self, session: Session) -> None:
        """The visitor would rather wait than leave contact details: a new dispatch round,
        keeping their original place in the queue (first come, first served); earlier
        answers of staff no longer count."""
        await self._enter_queue(
            session,
            (Status.CONTACT,),
            Conflict(
                "You can choose to wait again only when Laura asked for contact details.",
                code=ErrorCode.WAIT_NOT_POSSIBLE,
            ),
            "keep_waiting",
            {},
            also=lambda conn, conv: self.store.answers.reset(conn, conv.id),
        )

    async def ask_contact(self, conv: Conversation, reason: str) -> bool:
        session = await self._session_of(conv)
        async with transaction(self.db) as conn:
            moved = await self.store.conversations.transition(
                conn,
                conv.id,
                (Status.WAITING,),
                Status.CONTACT,
                dispatch_deadline=None,
                next_queue_update=None,
            )
            if not moved:
                return False
            await self._say(conn, session, conv, "ask_contact", to_matrix=True)
            await self.store.events.append(
                conn, session.id, conv.id, "status", data={"status": Status.CONTACT}
            )
        log.info("Conversation %s: asking for contact details (%s)", conv.id, reason)
        await self._after_leaving_queue(conv)
        self.notifier.notify(session.id)
        return True

    # Staff side -------------------------------------------------------------------------------

    async def claim(self, conv: Conversation, user_id: str, name: str) -> bool:
        async with transaction(self.db) as conn:
            if not await self.store.conversations.claim(conn, conv.id, user_id, name):
                return False
            await self.store.staff_members.assigned(conn, user_id, now_ms())
            await self.store.staff.to_be_invited(conn, conv.id, user_id, name)
            await self.store.events.append(
                conn, conv.session_id, conv.id, "status", data={"status": Status.CONNECTED}
            )
        log.info("Conversation %s taken by %s", conv.id, user_id)
        await self._after_leaving_queue(conv)
        taken = await self.store.conversations.get_by_id(conv.id)
        if taken:
            await self.schedule_idle(taken)
        self.notifier.notify(conv.session_id)
        return True

    async def invite_colleague(self, conv: Conversation, user_id: str, name: str) -> None:
        """Bring a colleague into the consult room (the bridge sends the invite)."""
        async with transaction(self.db) as conn:
            await self.store.staff.to_be_invited(conn, conv.id, user_id, name)
        log.info("Conversation %s: a colleague is invited", conv.id)
        self.kick_matrix(conv.id)

    async def close_by_staff(
        self, conv: Conversation, user_id: str, event_id: str | None = None
    ) -> bool:
        """event_id: the !close command's, which the consult room's closing notice answers
        (who closed it, and when the chat will be deleted: one notice)."""
        log.info("Conversation %s: %s closes it", conv.id, user_id)

        async def closer(conn: Any) -> None:
            await self.store.conversations.set_fields(
                conv.id, conn, closed_by=user_id, close_event_id=event_id
            )

        session = await self._session_of(conv)
        return await self._end(session, conv, "staff", "ended_by_staff", also=closer)

    async def staff_message(
        self,
        conv: Conversation,
        event_id: str,
        name: str,
        body: str,
        *,
        mirror: bool = False,
        notification: bool = False,
    ) -> bool:
        """A staff message for the visitor. mirror: it was written outside the consult room
        (the waiting room's thread, !notify), so the consult room gets a copy for its history.
        notification: it counts as one of the waiting visitor's notifications (S18)."""
        if conv.status == Status.ENDED:
            return False
        if await self.store.events.has_mx_event(event_id):
            return True  # handled before a crash; the inbox replays it
        async with transaction(self.db) as conn:
            await self.store.events.append(
                conn,
                conv.session_id,
                conv.id,
                "message",
                sender="staff",
                name=name,
                body=body,
                mx_event_id=event_id,
                to_matrix=mirror,
            )
            await self.store.conversations.spoke(conn, conv.id, "staff", now_ms(), notification)
        self.notifier.notify(conv.session_id)
        if mirror or conv.status != Status.CONNECTED:
            self.kick_matrix(conv.id)  # the copy, and the request's counter
        return True

    async def notify_waiting(
        self, conv_ids: list[str], event_id: str, name: str, body: str
    ) -> int:
        """!notify: a message from staff to waiting visitors; how many got it."""
        sent = 0
        for conv_id in conv_ids:
            conv = await self.store.conversations.get_by_id(conv_id)
            if conv is None or conv.status not in (Status.WAITING, Status.CONTACT):
                continue
            # One staff event, many visitors: each copy has its own id for idempotency.
            if await self.staff_message(
                conv, f"{event_id}/{conv_id}", name, body, mirror=True, notification=True
            ):
                sent += 1
        return sent

    async def staff_membership(
        self, conv: Conversation, user_id: str, name: str, membership: str
    ) -> None:
        prev = await self.store.staff.set(conv.id, user_id, name, membership)
        if membership == "join" and prev != "join":
            # Joining is reading: the room holds the whole chat (C3).
            await self.store.audit.record(user_id, "joined", conv.id)
        session = await self._session_of(conv)
        text = None
        if membership == "join" and prev != "join":
            text = "staff_joined"
        elif membership in ("leave", "ban") and prev == "join":
            text = "staff_left"
        if text and conv.status != Status.ENDED:
            async with transaction(self.db) as conn:
                await self._say(conn, session, conv, text, name=name)
            self.notifier.notify(session.id)
        if (
            membership in ("leave", "ban")
            and conv.status == Status.CONNECTED
            and not await self.store.staff.present(conv.id)
        ):
            # Nobody is (or is coming) in the room any more: the last staff member left (also
            # through Element's own "leave room"), or the invited colleague declined. The
            # visitor is not left talking to nobody. Decided from the state, so a retried
            # event still does it.
            await self.requeue(conv, "no staff member left in the chat")
        elif membership in ("leave", "ban") and prev == "join":
            await self.routing.kick_all()  # who left has room for another chat now

    # Inactivity (S21) ------------------------------------------------------------------------

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
            session = await self._session_of(conv)
            log.info("Conversation %s ends: nobody wrote after the warning", conv.id)
            await self._end(session, conv, "idle", "idle_ended", (Status.CONNECTED,))
            return
        timeout = await self.settings.seconds("inactivity_timeout")
        last = conv.last_activity_at or conv.taken_at or now
        if last + int(timeout * 1000) > now + 50:
            await self.schedule_idle(conv)  # somebody wrote in the meantime
            return
        grace = await self.settings.seconds("inactivity_grace")
        session = await self._session_of(conv)
        deadline = now + int(grace * 1000)
        async with transaction(self.db) as conn:
            if not await self.store.conversations.warn_idle(conn, conv.id, last, deadline):
                return  # a message came in just now
            minutes = max(1, round(grace / 60))
            await self._say(conn, session, conv, "idle_warning", to_matrix=True, minutes=minutes)
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
        session = await self._session_of(conv)
        log.info("Conversation %s ends: nobody wrote in it for the retention period", conv.id)
        return await self._end(
            session, conv, "idle", "idle_ended", (Status.WAITING, Status.CONTACT)
        )

    async def restore(self) -> None:
        """At start-up: rebuild timers and resume unfinished Matrix work from the database."""
        for conv in await self.store.conversations.all_by_status(Status.CONNECTED):
            await self.schedule_idle(conv)
        for conv in await self.store.conversations.all_by_status(Status.WAITING):
            await self.schedule(conv.id)
        await self.queues.restore([d.id for d in await self.store.departments.all_active()])
        for conv_id in await self.store.events.conversations_with_pending():
            self.kick_matrix(conv_id)
        for conv_id in await self.store.conversations.all_unfinished_matrix_work():
            self.kick_matrix(conv_id)
        self.kick_contacts()
