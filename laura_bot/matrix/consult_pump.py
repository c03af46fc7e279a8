"""The consult-room pump: brings a conversation's Matrix side up to date with the database
(the request while the visitor waits, through DispatchView), the consult room once someone
takes the chat, what was said delivered into it in order, the rating, the ending."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import (
    ContentURI,
    FileInfo,
    ImageInfo,
    MediaMessageEventContent,
    RoomID,
    ThumbnailInfo,
)

from ..db import Store
from ..db.conversations import Conversation, Status
from ..db.events import Event
from ..db.sessions import Session
from ..textsafety import embedded, for_staff
from . import content as c
from .dispatch_view import DispatchView
from .people import People
from .room_setup import RoomSetup
from .rooms import consult_power_levels
from .sender import Content, Sender
from .widgets import Widgets

log = logging.getLogger(__name__)


class ConsultPump:
    def __init__(
        self,
        store: Store,
        az: AppService,
        sender: Sender,
        people: People,
        rooms: RoomSetup,
        dispatch_view: DispatchView,
        widgets: Widgets,
        t: Callable[..., str],
        deletion_date: Callable[[Conversation], Awaitable[tuple[str, str]]],
    ) -> None:
        """deletion_date(conversation): when an ended chat will be deleted (date, period), for
        the notice at its end."""
        self.store = store
        self.az = az
        self.sender = sender
        self.people = people
        self.rooms = rooms
        self.dispatch_view = dispatch_view
        self.widgets = widgets
        self.t = t
        self.deletion_date = deletion_date

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    async def sync_conversation(self, conv_id: str) -> None:
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status == Status.CHOOSING or conv.purged_at:
            return  # nothing to do yet, or its rooms are being deleted
        session = await self.store.sessions.get_by_id(conv.session_id)
        assert session is not None
        dept = await self.store.departments.get_by_id(conv.department_id or "")
        topic = dept.label if dept else (conv.department_id or "?")
        nickname = session.nickname
        # No consult room (nor ghost) before someone takes the chat: a waiting visitor costs
        # Synapse the request and its two reactions only, and what they write meanwhile goes
        # to the request's thread. The room gets the whole history when it is made.
        await self.dispatch_view.waiting(conv, session, topic, nickname)
        opening = False
        if conv.room_id is None:
            if conv.status == Status.CONNECTED:
                conv.room_id = await self._create_consult_room(conv, session, topic)
                opening = True
            elif conv.status == Status.ENDED:
                await self.store.events.skip_pending(conv.id)  # nobody took it: no room
        if conv.room_id:
            await self._deliver(conv, session, topic, opening)
        if conv.room_id and conv.video_remove:
            await self.widgets.remove(conv.room_id, conv.video_remove)
            await self.store.conversations.set_fields(conv.id, video_remove=None)
        await self.dispatch_view.show_outcome(conv, topic, nickname)
        if conv.room_id:
            for user_id in await self.store.staff.to_invite(conv.id):
                await self.rooms.invite(conv.room_id, user_id)
                await self.store.staff.mark_invited(conv.id, user_id)
            if conv.rating and conv.rating_txn_id and not conv.rating_posted:
                await self._post_rating(conv)
            if conv.status == Status.ENDED and not conv.ghost_left:
                # Why it ended (unless staff ended it: their command has its answer) and when
                # it will be deleted, in one notice. A room whose ending went out alone, before
                # the two were one (laura.end), gets the date alone.
                lines, txn_id, reply_to = [], f"laura.retention.{conv.id}", None
                if conv.ended_by in ("visitor", "idle") and (
                    await self.store.sends.started_at(f"laura.end.{conv.id}") is None
                ):
                    lines.append(
                        self.t("visitor_ended" if conv.ended_by == "visitor" else "idle_ended")
                    )
                    txn_id = f"laura.ended.{conv.id}"
                elif conv.ended_by == "staff" and conv.close_event_id and conv.closed_by:
                    # The answer to !close, with the date below it: one notice (a chat closed
                    # before the two were one had its answer from the command itself).
                    name = await self.people.staff_name(conv.room_id, conv.closed_by)
                    lines.append(self.t("closed", name=name))
                    txn_id, reply_to = f"laura.closed.{conv.id}", conv.close_event_id
                date, period = await self.deletion_date(conv)
                lines.append(self.t("retention_notice", date=date, period=period))
                if lines:
                    text = "\n\n".join(lines)
                    await self.sender.notice(conv.room_id, text, txn_id=txn_id, reply_to=reply_to)
                try:
                    await self.people.ghost(session).leave_room(RoomID(conv.room_id))
                except MatrixRequestError as e:
                    log.info("Ghost of %s could not leave its room: %s", conv.id, e.errcode)
                await self.store.conversations.set_fields(conv.id, ghost_left=True)

    async def _post_rating(self, conv: Conversation) -> None:
        assert conv.room_id and conv.rating and conv.rating_txn_id
        stars = "★" * conv.rating + "☆" * (5 - conv.rating)
        comment = embedded(conv.rating_comment or "")
        text = self.t("rating_posted", stars=stars, comment=comment)
        await self.sender.notice(conv.room_id, text, txn_id=conv.rating_txn_id)
        await self.store.conversations.set_fields(conv.id, rating_posted=True)

    async def _create_consult_room(self, conv: Conversation, session: Session, topic: str) -> str:
        ghost = self.people.ghost(session)
        await ghost.ensure_registered()
        # The taker is invited after the history is in the room (sync_conversation), not in
        # createRoom's invite list: that would save a request but no event, and a taker who
        # joined at once would find the room without what was said so far.
        room_id = await self.rooms.create_private_room(
            self.t("room_name", short=conv.id[:6], topic=topic),
            self.t("room_topic", topic=topic),
            [ghost.mxid],
            consult_power_levels(ghost.mxid),
        )
        await self.store.conversations.set_fields(conv.id, room_id=room_id)
        # The ghost joins with its nickname in one request (its member event carries the
        # display name): no profile update, which Synapse would copy into every room.
        if not await ghost.state_store.is_joined(RoomID(room_id), ghost.mxid):
            await ghost.api.request(
                Method.PUT,
                Path.v3.rooms[room_id].state["m.room.member"][ghost.mxid],
                {"membership": "join", "displayname": self.people.ghost_name(session)},
            )
            await ghost.state_store.joined(RoomID(room_id), ghost.mxid)
        log.info("Conversation %s has consult room %s", conv.id, room_id)
        return room_id

    async def _post_opening(
        self, conv: Conversation, session: Session, topic: str, pending: list[Event], first: bool
    ) -> list[Event]:
        """The introduction for staff, with what Laura told the visitor before the take (the
        welcome, where they stood) in the same notice: one event where there were three, each
        of which costs the homeserver as much as a message. Returns what is left to deliver.

        Sent once: its txn id is in the ledger. After a crash between the send and the marks,
        the messages it carried are those from before the take and before the ledger noted
        it; a message that came later (a chat handed back and taken again) is delivered on
        its own. Without a ledger row, only a room made just now opens this way: a room from
        before this notice existed, or one whose row was pruned, gets its messages one by
        one."""
        assert conv.room_id
        txn_id = f"laura.opening.{conv.id}"
        noted_at = await self.store.sends.started_at(txn_id)
        if noted_at is None and not first:
            return pending
        before = conv.taken_at or 0
        if noted_at is not None:
            before = min(before, noted_at)
        told: list[Event] = []
        for ev in pending:
            if not _is_laura_text(ev) or ev.ts >= before:
                break
            told.append(ev)
        if noted_at is not None and not told:
            return pending  # the introduction went out, with what it carried
        nickname = session.nickname
        lines = [self.t("consult_intro", nickname=nickname, topic=topic)]
        if session.verified_id:
            lines.append(self.t("verified_line", name=nickname, id=session.verified_id))
        if told:
            lines.append("")
            lines.append(self.t("told_visitor"))
            lines += [f"> {line}" for ev in told for line in (ev.body or "").splitlines()]
        await self.sender.notice(conv.room_id, "\n".join(lines), txn_id=txn_id)
        for ev in told:
            await self.store.events.mark_sent(ev.session_id, ev.seq, None)
        return pending[len(told) :]

    async def _deliver(
        self, conv: Conversation, session: Session, topic: str, opening: bool = False
    ) -> None:
        """What the visitor wrote (as their ghost) and Laura's messages (as notices) into the
        consult room, in order; a staff message written in the waiting room (the request's
        thread, or !notify) as a copy under the name of who wrote it. The room's first
        delivery opens with the introduction (_post_opening)."""
        assert conv.room_id
        pending = await self.store.events.pending_for(conv.id)
        if opening or (
            pending and _is_laura_text(pending[0]) and pending[0].ts < (conv.taken_at or 0)
        ):
            pending = await self._post_opening(conv, session, topic, pending, opening)
        for ev in pending:
            attachment = json.loads(ev.data).get("attachment") if ev.data else None
            content: Content
            if ev.sender == "visitor" and attachment:
                intent = self.people.ghost(session)
                try:
                    content = await self._file_content(intent, attachment["id"])
                except MatrixRequestError as e:
                    if e.http_status >= 500 or e.http_status in (0, 429):
                        raise  # the homeserver is in trouble: tried again later
                    # Refused for good (too large for the homeserver, say): staff are told,
                    # and what the visitor wrote after it still arrives.
                    log.warning(
                        "A file of %s was refused by the homeserver: %s", conv.id, e.errcode
                    )
                    intent = self.bot
                    text = self.t("file_not_posted", nickname=session.nickname, name=ev.body or "")
                    content = c.notice(text)
            elif ev.sender == "visitor":
                intent = self.people.ghost(session)
                # Every character as typed, bidi controls visible (textsafety.for_staff).
                body = for_staff(ev.body or "")
                content = c.text(body)
            elif ev.sender == "staff":
                intent = self.bot
                # Written before the chat was taken (waiting room), or during it (a canned
                # answer): the copy says which.
                during = bool(conv.taken_at) and ev.ts >= (conv.taken_at or 0)
                copy = "staff_copy_live" if during else "staff_copy"
                body = self.t(copy, name=ev.name or "?", body=ev.body or "")
                content = c.notice(body)
            else:
                intent = self.bot
                content = c.notice(ev.body or "")
            event_id = await self.sender.send(conv.room_id, content, ev.mx_txn_id, intent)
            await self.store.events.mark_sent(ev.session_id, ev.seq, event_id)

    async def _file_content(
        self, intent: IntentAPI, attachment_id: str
    ) -> MediaMessageEventContent:
        """An m.image or m.file for a visitor's stored file, uploaded (once) as the ghost."""
        att = await self.store.attachments.get(attachment_id)
        assert att is not None
        if not att.mxc:
            data = await self.store.attachments.data(att.id)
            assert data is not None
            # No filename: mautrix would log it with the URL (the event carries the name).
            mxc = await intent.upload_media(data, mime_type=att.mime)
            thumb_mxc = None
            thumb = await self.store.attachments.data(att.id, thumbnail=True)
            if thumb and att.thumbnail_mime:
                thumb_mxc = await intent.upload_media(thumb, mime_type=att.thumbnail_mime)
            await self.store.attachments.uploaded(att.id, str(mxc), thumb_mxc and str(thumb_mxc))
            att.mxc, att.thumbnail_mxc = str(mxc), thumb_mxc and str(thumb_mxc)
        image = att.kind == "image"  # only images have a size in pixels (media.py)
        info = (ImageInfo if image else FileInfo)(mimetype=att.mime, size=att.size)
        if isinstance(info, ImageInfo) and att.width and att.height:
            info.width, info.height = att.width, att.height
        if att.thumbnail_mxc:
            info.thumbnail_url = ContentURI(att.thumbnail_mxc)
            info.thumbnail_info = ThumbnailInfo(mimetype=cast(str, att.thumbnail_mime))
        return c.file(att.name, att.mxc, info, image=image)


def _is_laura_text(ev: Event) -> bool:
    """A message of Laura's to the visitor, text only (no file)."""
    if ev.type != "message" or ev.sender != "bot":
        return False
    return not (ev.data and json.loads(ev.data).get("attachment"))
