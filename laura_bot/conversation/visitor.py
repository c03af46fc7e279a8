"""The visitor's side of a chat: starting it, choosing a topic, writing, leaving contact
details, ending it, a new chat, rating it (widget API v1). Input that reaches this far has its
JSON shape checked; what it means is checked here, with errors a visitor understands."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .. import portal
from ..config import Config
from ..db import Store
from ..db.base import transaction
from ..db.contact_requests import ContactRequest
from ..db.conversations import Conversation, Status
from ..db.departments import Department
from ..db.outbound import MESSAGE_FROM_VISITOR, about_chat
from ..db.sessions import Session
from ..dispatch.routing import Routing
from ..errors import BadRequest, Conflict, ErrorCode, TooLarge
from ..notifier import Notifier
from ..settings import Settings
from ..tasks import Kick
from ..texts import render
from ..textsafety import clean_name, imitates_marker
from ..util import new_txn_id, now_ms, random_id, valid_email
from .lifecycle import Lifecycle

log = logging.getLogger(__name__)

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
    """What a visitor can do; the web layer's one entry to the domain."""

    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        lifecycle: Lifecycle,
        routing: Routing,
        kick_matrix: Kick,
        kick_contacts: Callable[[], None],
    ) -> None:
        self.config = config
        self.store = store
        self.db = store.db
        self.settings = settings
        self.notifier = notifier
        self.lifecycle = lifecycle
        self.routing = routing
        self.kick_matrix = kick_matrix
        self.kick_contacts = kick_contacts
        self._address_secret: bytes | None = None

    async def current(self, session: Session) -> Conversation:
        return await self.lifecycle.current(session)

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
            or self.lifecycle.text(session, "welcome"),
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

    async def view(self, session: Session) -> dict[str, Any]:
        conv = await self.lifecycle.current(session)
        position = None
        if conv.status == Status.WAITING and conv.department_id:
            position = await self.lifecycle.queues.position(conv.department_id, conv.id)
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
        await self.lifecycle.enter_queue(
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
        conv = await self.lifecycle.current(session)
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
                await self.store.outbound.record(conn, MESSAGE_FROM_VISITOR)
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
        await self.lifecycle.tell(self.lifecycle.after_visitor_message, conv)
        return seq

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
        conv = await self.lifecycle.current(session)
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
            happening = about_chat(
                "contact_request.created",
                conv.id,
                dept.id if dept is not None else conv.department_id,
                contact_request_id=request.id,
            )
            contact = {k: v for k, v in fields.items() if k != "name"}
            happening.content.update(contact | {"name": request.name})
            await self.store.outbound.record(conn, happening)

        if not await self.lifecycle.end(
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
        conv = await self.lifecycle.current(session)
        text = "contact_declined" if reason == "declined_contact" else "ended_by_visitor"
        await self.lifecycle.end(session, conv, "visitor", text)

    async def restart(self, session: Session) -> None:
        """A new chat in the same session after the last one ended: the visitor keeps their
        details and can still read the old chat (its events stay in their stream)."""
        conv = await self.lifecycle.current(session)
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
        conv = await self.lifecycle.current(session)
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

    async def open_booked(self, session_id: str, department_id: str, adviser: str) -> bool:
        """A chat the visitor booked begins: it opens on that topic as if they had just chosen
        it, offered first to the adviser it was booked with. False when there is nothing to
        open: their chat is going already, or it cannot be opened (a LauraError says why)."""
        session = await self.store.sessions.get_by_id(session_id)
        if session is None or session.token_hash.startswith("erased."):
            return False
        conv = await self.lifecycle.current(session)
        if conv.status in (Status.WAITING, Status.CONNECTED):
            return False
        if conv.status == Status.ENDED:
            await self.restart(session)
            conv = await self.lifecycle.current(session)
        await self.store.conversations.set_fields(conv.id, preferred_staff=adviser)
        if conv.status == Status.CONTACT and conv.department_id == department_id:
            await self.keep_waiting(session)  # asked for contact details before: back in line
        else:
            await self.choose_topic(session, department_id)
        log.info("Session %s: the booked chat opens (offered first to %s)", session.id, adviser)
        return True

    async def keep_waiting(self, session: Session) -> None:
        """The visitor would rather wait than leave contact details: a new dispatch round,
        keeping their original place in the queue (first come, first served); earlier
        answers of staff no longer count."""
        await self.lifecycle.enter_queue(
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
