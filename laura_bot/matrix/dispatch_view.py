"""The request in a department's room while the visitor waits: posted once, mentioning whom
routing asks, edited as it changes (who it is offered to, the waiting-room line, throttled),
escalated, and edited to its outcome; what the visitor writes meanwhile goes to its thread."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import EventType

from ..config import Config
from ..db import Store
from ..db.conversations import Conversation, Status
from ..db.events import Event
from ..db.offers import OFFER
from ..db.sessions import Session
from ..dispatch.logic import DECLINE_KEY, TAKE_KEY
from ..textsafety import embedded
from . import content as c
from .people import People
from .sender import TXN_KEY, Sender

log = logging.getLogger(__name__)

VIEW_EDIT_INTERVAL = 5.0  # seconds between edits of a request while its visitor writes


class DispatchView:
    def __init__(
        self,
        config: Config,
        store: Store,
        az: AppService,
        sender: Sender,
        people: People,
        t: Callable[..., str],
        control_room: Callable[[], str | None],
        sync_later: Callable[[str, float], None],
    ) -> None:
        """control_room(): the control room, once made (escalations to the admins go there).
        sync_later(conversation id, seconds): sync the conversation again then (the request's
        throttled edit)."""
        self.config = config
        self.store = store
        self.az = az
        self.sender = sender
        self.people = people
        self.t = t
        self.control_room = control_room
        self.sync_later = sync_later
        # When each waiting request was last edited, and what it said then without its
        # waiting-room line (_refresh_view).
        self._edited: dict[str, tuple[float, str]] = {}

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    async def waiting(
        self, conv: Conversation, session: Session, topic: str, nickname: str
    ) -> None:
        """Everything of the request before someone takes the chat (no consult room yet): a
        waiting visitor costs Synapse the request and its two reactions, its edits, and what
        they write meanwhile in the request's thread."""
        if (
            conv.status == Status.WAITING
            and conv.dispatch_event_id is None
            and conv.dispatch_room_id
        ):
            await self._post_dispatch(conv, topic, nickname)
        if conv.status == Status.WAITING and conv.dispatch_event_id:
            await self._post_asks(conv, topic, nickname)
        if conv.status == Status.WAITING and conv.escalation_level > conv.escalation_posted:
            await self._post_escalation(conv, topic, nickname)
        if conv.room_id is None and not conv.taker and conv.dispatch_event_id:
            await self._mirror_waiting(conv, session)

    async def request_sent_as(self, room_id: str, event_id: str) -> Conversation | None:
        """The conversation whose current request is event_id, when Laura has not noted that
        id yet: a staff client shows the request as soon as Synapse has it, and staff can
        answer it before Laura's send has its answer. The event itself says which send it
        was (TXN_KEY, which only Laura's own events are trusted with)."""
        if len(event_id) > 255:
            return None
        try:
            evt = await self.bot.api.request(Method.GET, Path.v3.rooms[room_id].event[event_id])
        except MatrixRequestError as e:
            if e.http_status in (400, 403, 404):
                return None  # no such event, or not one Laura can see
            raise
        if not isinstance(evt, dict) or evt.get("sender") != self.bot.mxid:
            return None
        content = evt.get("content")
        txn_id = content.get(TXN_KEY) if isinstance(content, dict) else None
        if not isinstance(txn_id, str):
            return None
        conv = await self.store.conversations.get_by_dispatch_txn(room_id, txn_id)
        if conv is None or conv.dispatch_event_id not in (None, event_id):
            return None  # an earlier round's request, or not a request at all
        # Noted here too: the send that made it may yet fail (its answer lost), and once the
        # chat is taken nothing would post the request again to learn its id.
        await self.store.conversations.note_dispatch_event(conv.id, txn_id, event_id)
        await self.store.sends.confirm(txn_id, event_id)
        conv.dispatch_event_id = event_id
        return conv

    async def _mirror_waiting(self, conv: Conversation, session: Session) -> None:
        """Before anyone took the chat: what the visitor wrote, in the request's thread (each
        once; the messages stay pending for the consult room, made when someone takes it)."""
        for ev in await self.store.events.pending_for(conv.id):
            if ev.sender == "visitor":
                clip = "📎 " if ev.data and "attachment" in ev.data else ""
                text = embedded(f"{clip}{ev.body or ''}")
                await self._to_thread(conv, f"{session.nickname}: {text}", ev)

    async def _to_thread(self, conv: Conversation, text: str, ev: Event) -> None:
        assert conv.dispatch_room_id and conv.dispatch_event_id
        content = c.in_thread(conv.dispatch_event_id, text)
        await self.sender.send(conv.dispatch_room_id, content, f"{ev.mx_txn_id}.thread")

    async def _view(self, conv: Conversation, topic: str, nickname: str) -> str:
        core, waiting_room = await self._view_parts(conv, topic, nickname)
        return f"{core}\n{waiting_room}" if waiting_room else core

    async def _view_parts(
        self, conv: Conversation, topic: str, nickname: str
    ) -> tuple[str, str | None]:
        """The request as it stands: who it is offered to now (one at a time), or that
        nobody is free; and apart, the waiting room's line (its count of notifications and
        who spoke last), which the visitor's messages change."""
        assert conv.dispatch_room_id and conv.dispatch_txn_id
        lines = [self.t("dispatch", topic=topic, nickname=nickname, since=self._since(conv))]
        session = await self.store.sessions.get_by_id(conv.session_id)
        if session and session.verified_id:
            lines.append(self.t("verified_line", name=nickname, id=session.verified_id))
        asked = await self.store.offers.of_round(conv.id, conv.dispatch_txn_id)
        if conv.offered_to:
            name = await self.people.display_name(conv.dispatch_room_id, conv.offered_to)
            until = self._clock(conv.offer_deadline)
            lines.append(self.t("offered_line", name=name, until=until))
        elif not any(o.outcome is None for o in asked):
            lines.append(self.t("nobody_available_line"))
        waiting_room = None
        if conv.notify_count or conv.last_speaker:
            who = self.t(f"speaker_{conv.last_speaker or 'none'}")
            waiting_room = self.t("waiting_room_line", count=conv.notify_count, last=who)
        return "\n".join(lines), waiting_room

    def _view_txn(self, conv: Conversation, text: str) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return f"{conv.dispatch_txn_id}.view.{digest}"

    async def _post_dispatch(self, conv: Conversation, topic: str, nickname: str) -> None:
        """The request in the department's room, mentioning whoever routing asked already
        (everyone available in broadcast mode, one person one at a time), with both answers
        seeded as reactions."""
        assert conv.dispatch_room_id and conv.dispatch_txn_id
        asks = await self.store.offers.unposted(conv.id, conv.dispatch_txn_id)
        text = await self._view(conv, topic, nickname)
        content = c.mention(text, sorted(o.user_id for o in asks))
        event_id = await self.sender.send(conv.dispatch_room_id, content, conv.dispatch_txn_id)
        await self.store.conversations.set_fields(conv.id, dispatch_event_id=event_id)
        conv.dispatch_event_id = event_id
        # This text is shown now: no edit needed for it (see _refresh_view).
        view_txn = self._view_txn(conv, text)
        await self.store.sends.note(view_txn, conv.dispatch_room_id)
        await self.store.sends.confirm(view_txn, event_id)
        for o in asks:
            await self.store.offers.posted(conv.id, o.round, o.user_id, event_id)
        for suffix, key in (("take", TAKE_KEY), ("decline", DECLINE_KEY)):
            try:
                await self.sender.send(
                    conv.dispatch_room_id,
                    c.reaction(event_id, key),
                    f"{conv.dispatch_txn_id}.{suffix}",
                    event_type=EventType.REACTION,
                )
            except MatrixRequestError as e:
                if e.errcode != "M_DUPLICATE_ANNOTATION":
                    raise
        log.info("Conversation %s dispatched as %s", conv.id, event_id)

    async def _post_asks(self, conv: Conversation, topic: str, nickname: str) -> None:
        """People routing asked after the request went out are mentioned in a reply to it
        (offered one at a time, or available again in broadcast mode); then the request is
        edited to show where it stands."""
        room_id, round = conv.dispatch_room_id, conv.dispatch_txn_id
        dispatch = conv.dispatch_event_id
        assert room_id and round and dispatch
        asks = await self.store.offers.unposted(conv.id, round)
        if asks:
            if asks[0].kind == OFFER:
                asks = asks[:1]
                until = self._clock(conv.offer_deadline)
                ping = self.t("offer_ping", nickname=nickname, topic=topic, until=until)
            else:
                ping = self.t("ask_again", nickname=nickname, topic=topic, since=self._since(conv))
            content = c.mention(ping, sorted(o.user_id for o in asks), reply_to=dispatch)
            event_id = await self.sender.send(room_id, content, asks[0].txn_id)
            for o in asks:
                await self.store.offers.posted(conv.id, round, o.user_id, event_id)
        await self._refresh_view(conv, topic, nickname)

    async def _refresh_view(self, conv: Conversation, topic: str, nickname: str) -> None:
        """Edit the request when what it should say changed (each text is sent once: the
        send ledger knows it by a txn id made from the text).

        While the visitor writes in the waiting room only the waiting-room line changes, with
        each message: that is edited once per VIEW_EDIT_INTERVAL at most, and the latest
        count always goes out (a sync is asked for when the interval has passed). Every other
        change (who it is offered to, nobody available) is edited at once."""
        core, waiting_room = await self._view_parts(conv, topic, nickname)
        text = f"{core}\n{waiting_room}" if waiting_room else core
        txn_id = self._view_txn(conv, text)
        if await self.store.sends.started_at(txn_id) is not None:
            await self._edit(conv, text, txn_id)  # shown, or tried: the ledger skips or ends it
            return
        now = time.monotonic()
        for conv_id, (at, _) in list(self._edited.items()):
            if now - at > VIEW_EDIT_INTERVAL:
                del self._edited[conv_id]
        last = self._edited.get(conv.id)
        if last and last[1] == core:
            self.sync_later(conv.id, VIEW_EDIT_INTERVAL - (now - last[0]) + 0.05)
            return
        await self._edit(conv, text, txn_id)
        self._edited[conv.id] = (now, core)

    async def _edit(self, conv: Conversation, text: str, txn_id: str) -> None:
        """Replace the text of the dispatch message (an edit never notifies anyone)."""
        assert conv.dispatch_room_id and conv.dispatch_event_id
        content = c.edit(conv.dispatch_event_id, text)
        await self.sender.send(conv.dispatch_room_id, content, txn_id)

    def _clock(self, ms: int | None) -> str:
        zone = ZoneInfo(self.config["laura.timezone"])
        return datetime.fromtimestamp((ms or 0) / 1000, zone).strftime("%H:%M")

    async def _post_escalation(self, conv: Conversation, topic: str, nickname: str) -> None:
        """Level 1: the department again, as a reply to the request (m.text with mentions, so
        it notifies). Level 2: the admins, in the control room."""
        level = conv.escalation_level
        since = self._since(conv)
        if level == 1 and conv.dispatch_room_id and conv.dispatch_event_id:
            room_id = conv.dispatch_room_id
            people = sorted(await self.people.members(room_id))
            text = self.t("escalation_department", topic=topic, nickname=nickname, since=since)
            reply_to: str | None = conv.dispatch_event_id
        elif level >= 2 and (control_room := self.control_room()):
            room_id = control_room
            people = sorted(self.config["laura.admins"])
            text = self.t("escalation_admins", topic=topic, nickname=nickname, since=since)
            reply_to = None
        else:
            return  # nowhere to say it yet (no dispatch message); tried again on the next sync
        content = c.mention(text, people, reply_to)
        await self.sender.send(room_id, content, f"{conv.dispatch_txn_id}.escalate{level}")
        await self.store.conversations.set_fields(conv.id, escalation_posted=level)
        log.info("Conversation %s: escalation %s posted", conv.id, level)

    def _since(self, conv: Conversation) -> str:
        return self._clock(conv.queued_at)

    async def show_outcome(self, conv: Conversation, topic: str, nickname: str) -> None:
        """The request edited, once, to how it went: taken (by whom), a contact request, or
        ended before anyone took it."""
        if conv.taker:
            outcome, text = (
                "taken",
                self.t(
                    "taken", name=conv.taker_name or conv.taker, topic=topic, nickname=nickname
                ),
            )
        elif conv.status == Status.CONTACT or conv.ended_by == "contact":
            outcome, text = "contact", self.t("contact", topic=topic, nickname=nickname)
        elif conv.status == Status.ENDED:
            outcome, text = "ended", self.t("ended", topic=topic, nickname=nickname)
        else:
            return
        if not conv.dispatch_event_id or conv.dispatch_outcome_sent == outcome:
            return
        await self._edit(conv, text, f"{conv.dispatch_txn_id}.{outcome}")
        await self.store.conversations.set_fields(conv.id, dispatch_outcome_sent=outcome)
