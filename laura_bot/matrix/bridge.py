"""Laura's Matrix side: rooms, the consult-room pump and posting to staff rooms.

Every step here is idempotent and driven by the database: a step that fails is retried by the
KeyedRunner with the same stored txn id, and a restart resumes from what the database says.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import (
    EventType,
    PowerLevelStateEventContent,
    RoomCreatePreset,
    RoomID,
    StateEvent,
    UserID,
)

from ..config import Config
from ..db import Store
from ..db.conversations import Conversation, Status
from ..db.events import Event
from ..db.offers import OFFER
from ..db.sessions import Session
from ..dispatch.logic import DECLINE_KEY, TAKE_KEY
from ..texts import staff_text
from ..textsafety import embedded, for_staff
from .rooms import consult_power_levels, power_levels, private_state

log = logging.getLogger("laura.matrix")

# Every event Laura sends with a stored txn id carries it under this key, so that a send can be
# recognised in the room after Synapse forgot the txn id (it keeps them in memory only).
TXN_KEY = "org.laura.txn_id"
LOOKBACK = 100  # how many of the sender's recent events of that type are searched
VIEW_EDIT_INTERVAL = 5.0  # seconds between edits of a request while its visitor writes
# Room versions whose create event names its creator in the content (before version 11).
_CREATOR_FIELD_VERSIONS = frozenset(str(v) for v in range(1, 11))
PEOPLE_KEY = "config.people"
WIDGET_EVENT = EventType.find("im.vector.modular.widgets", EventType.Class.STATE)
LAYOUT_EVENT = EventType.find(
    "io.element.widgets.layout", EventType.Class.STATE
)  # the admins and staff of the config as last applied


def pill(user_id: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(user_id)}</a>'


class MatrixBridge:
    def __init__(
        self,
        config: Config,
        store: Store,
        az: AppService,
        sync_later: Callable[[str, float], None] | None = None,
    ) -> None:
        """sync_later(conversation id, seconds): run sync_conversation for it again then (the
        request's throttled edit)."""
        self.config = config
        self.store = store
        self.az = az
        self.sync_later = sync_later
        # When each waiting request was last edited, and what it said then without its
        # waiting-room line (_refresh_view).
        self._edited: dict[str, tuple[float, str]] = {}
        self.lang = config["laura.staff_language"]
        self.control_room: str | None = None
        self.contact_room: str | None = None
        self._room_version: str | None = None
        self._members: dict[str, tuple[float, set[str]]] = {}
        # When an ended chat will be deleted (date, period), for the notice at its end.
        self.deletion_date: Callable[[Conversation], Awaitable[tuple[str, str]]] | None = None

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    def t(self, text_id: str, /, **values: Any) -> str:
        return staff_text(self.lang, text_id, **values)

    def ghost(self, session: Session) -> IntentAPI:
        return self.bot.user(UserID(self.config.ghost_mxid(session.ghost_id)))

    # Sending ----------------------------------------------------------------------------------

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        txn_id: str | None = None,
        intent: IntentAPI | None = None,
        event_type: EventType = EventType.ROOM_MESSAGE,
    ) -> str:
        """Send once. With a txn id the event carries it (TXN_KEY) and the send is noted in
        the ledger first. A send the homeserver confirmed before is not sent again; one that
        was tried without an answer (a crash, a lost answer, a Synapse restart that forgot the
        txn id) is looked up among the sender's recent events in the room first."""
        intent = intent or self.bot
        if txn_id is None:
            return await intent.send_message_event(RoomID(room_id), event_type, cast(Any, content))
        content = {**content, TXN_KEY: txn_id}
        tried, confirmed = await self.store.sends.note(txn_id, room_id)
        if confirmed:
            return confirmed
        if tried:
            found = await self.find_sent(room_id, intent.mxid, event_type, txn_id)
            if found:
                log.info("Send %s was already in %s as %s", txn_id, room_id, found)
                await self.store.sends.confirm(txn_id, found)
                return found
        # Laura sends plain JSON content (m.mentions, m.new_content, ...), not mautrix objects.
        event_id = await intent.send_message_event(
            RoomID(room_id), event_type, cast(Any, content), txn_id=txn_id
        )
        await self.store.sends.confirm(txn_id, event_id)
        return event_id

    async def find_sent(
        self, room_id: str, sender: str, event_type: EventType, txn_id: str
    ) -> str | None:
        """The event id of an earlier send with this txn id among the sender's recent events
        in the room (read as the bot, which is in every room Laura sends to)."""
        filter_json = {"senders": [sender], "types": [str(event_type)], "limit": LOOKBACK}
        resp = await self.bot.api.request(
            Method.GET,
            Path.v3.rooms[room_id].messages,
            query_params={"dir": "b", "limit": str(LOOKBACK), "filter": json.dumps(filter_json)},
        )
        for evt in resp.get("chunk") or []:
            content = evt.get("content") if isinstance(evt, dict) else None
            if isinstance(content, dict) and content.get(TXN_KEY) == txn_id:
                return str(evt["event_id"])
        return None

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

    async def send_file(
        self,
        room_id: str,
        data: bytes,
        mime: str,
        name: str,
        txn_id: str,
        *,
        purpose: str,
        conversation_id: str | None = None,
    ) -> str:
        """A file of Laura's own (a transcript, an export) as an m.file in the room. The upload
        carries no file name: mautrix would log it with the URL. It is noted before it is sent,
        for retention to delete with the chat (purpose "chat") or the case ("cases")."""
        mxc = await self.bot.upload_media(data, mime_type=mime)
        await self.store.privacy.record_upload(str(mxc), room_id, conversation_id, purpose)
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "url": str(mxc),
            "info": {"mimetype": mime, "size": len(data)},
            "m.mentions": {},
        }
        return await self.send(room_id, content, txn_id)

    async def notice(
        self, room_id: str, text: str, txn_id: str | None = None, reply_to: str | None = None
    ) -> str:
        content: dict[str, Any] = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, content, txn_id)

    async def members(self, room_id: str) -> set[str]:
        """Joined members of a room who are people (not Laura or a visitor ghost).

        Asked of the homeserver directly: mautrix's get_joined_members also rewrites its state
        store (delete + insert), and two of those at once for one room clash on PostgreSQL."""
        resp = await self.bot.api.request(Method.GET, Path.v3.rooms[room_id].joined_members)
        joined = resp.get("joined")
        if not isinstance(joined, dict):
            return set()
        return {u for u in joined if not self.config.is_own_user(u)}

    async def members_cached(self, room_id: str, max_age: float = 30.0) -> set[str]:
        """members(), remembered for a while: routing asks often. A membership event in the
        room forgets it (forget_members), so a change counts at once."""
        now = time.monotonic()
        hit = self._members.get(room_id)
        if hit and now - hit[0] < max_age:
            return set(hit[1])
        members = await self.members(room_id)
        self._members[room_id] = (now, members)
        return set(members)

    async def is_staff(self, user_id: str) -> bool:
        """An admin, a supervisor, or a member of a department's dispatch room."""
        if user_id in self.config["laura.admins"] or user_id in (
            self.config["laura.supervisors"] or []
        ):
            return True
        for dept in await self.store.departments.all_active():
            if dept.room_id and user_id in await self.members_cached(dept.room_id):
                return True
        return False

    def forget_members(self, room_id: str) -> None:
        self._members.pop(room_id, None)

    async def staff_name(self, room_id: str, user_id: str) -> str:
        """What visitors see of a staff member: their !nick, else their display name."""
        return await self.store.staff_members.nickname(user_id) or await self.display_name(
            room_id, user_id
        )

    async def display_name(self, room_id: str, user_id: str) -> str:
        try:
            member = await self.bot.get_room_member_info(RoomID(room_id), UserID(user_id))
            if member and member.displayname:
                return member.displayname
        except MatrixRequestError:
            pass
        return user_id.split(":")[0].lstrip("@")

    # Fixed rooms ------------------------------------------------------------------------------

    async def _room(self, key: str, name: str, topic: str, invitees: list[str]) -> str:
        room_id = await self.store.settings.get(key)
        if room_id:
            return room_id
        room_id = await self.create_private_room(name, topic, invitees)
        await self.store.settings.set(key, room_id)
        log.info("Created %s %s", key, room_id)
        return room_id

    async def create_private_room(
        self, name: str, topic: str, invitees: list[str], levels: dict[str, Any] | None = None
    ) -> str:
        """Invite-only, not federated, history shared with members; only Laura changes state,
        invites or kicks (rooms.private_state says why the preset is public_chat).

        What Laura knows of the new room goes into the state store at once: her own join, the
        invites, the power levels and the create event, so that mautrix's check before the
        room's first send reads no state from the homeserver."""
        levels = levels or power_levels()
        version = await self.room_version()
        creation = {"m.federate": False}
        room_id = await self.bot.create_room(
            name=name,
            topic=topic,
            preset=RoomCreatePreset.PUBLIC,
            invitees=[UserID(u) for u in invitees],
            room_version=version,
            creation_content=creation,
            initial_state=private_state(),
            power_level_override=levels,
        )
        store = self.bot.state_store
        await store.joined(room_id, self.bot.mxid)
        for user in invitees:
            await store.invited(room_id, UserID(user))
        await store.set_power_levels(
            room_id, PowerLevelStateEventContent.deserialize(cast(Any, levels))
        )
        content: dict[str, Any] = {"room_version": version, **creation}
        if version in _CREATOR_FIELD_VERSIONS:
            content["creator"] = self.bot.mxid
        create = {
            "type": "m.room.create",
            "room_id": room_id,
            # From room version 12 on the create event's id is the room's, with $ for !.
            "event_id": "$" + room_id[1:],
            "sender": self.bot.mxid,
            "origin_server_ts": int(time.time() * 1000),
            "state_key": "",
            "content": content,
        }
        await store.set_create(StateEvent.deserialize(cast(Any, create)))
        return room_id

    async def room_version(self) -> str:
        """The homeserver's default room version (asked once): new rooms are made in it, and
        named, so what Laura notes of their create event is what the homeserver made."""
        if self._room_version is None:
            caps = await self.bot.api.request(Method.GET, Path.v3.capabilities)
            versions = (caps.get("capabilities") or {}).get("m.room_versions") or {}
            self._room_version = str(versions.get("default") or "12")
        return self._room_version

    async def ensure_rooms(self) -> None:
        """Create (once) the control room, the contact-requests room and the dispatch rooms."""
        admins = self.control_people()
        self.control_room = await self._room(
            "room.control", self.t("control_name"), self.t("control_topic"), admins
        )
        staff = sorted({s for d in self.config["laura.departments"] for s in d.get("staff") or []})
        self.contact_room = await self._room(
            "room.contact",
            self.t("contact_name"),
            self.t("contact_topic"),
            sorted(set(admins + staff)),
        )
        if await self.store.departments.count() == 0:
            for dept in self.config["laura.departments"]:
                await self.store.departments.add(dept["id"], dept["label"])
        config_staff = {d["id"]: d.get("staff") or [] for d in self.config["laura.departments"]}
        for dept in await self.store.departments.all_active():
            if not dept.room_id:
                await self.create_dispatch_room(dept.id, dept.label, config_staff.get(dept.id, []))

    def control_people(self) -> list[str]:
        """Who belongs in the control room: the admins. Supervisors are not: what admins do
        there (case exports, the audit) is not theirs to read; they monitor from a direct chat
        with Laura."""
        return list(self.config["laura.admins"])

    async def reconcile_people(self) -> None:
        """Bring the rooms in line with the config's admins and department staff.

        Someone added to the config since the last start is invited where they belong; someone
        removed from it is removed from those rooms. Only the difference between this config
        and the last one applied (kept in the database) is acted on, so people added with
        !staff add are left alone. The first time there is no record: the rooms were just made
        with everyone in the config invited, or (an upgrade) their membership is the admins'
        doing, so the config is only recorded then. What could not be done is not recorded as
        done, and is tried again at the next start."""
        admins = set(self.control_people())
        rooms = {d.id: d.room_id for d in await self.store.departments.all_active() if d.room_id}
        staff = {
            d["id"]: set(d.get("staff") or [])
            for d in self.config["laura.departments"]
            if d["id"] in rooms  # a department made by command later: staff apply then
        }
        raw = await self.store.settings.get(PEOPLE_KEY)
        if raw is None:
            await self._record_people(admins, staff)
            return
        before = json.loads(raw)
        old_admins = set(before["admins"])
        old_staff = {k: set(v) for k, v in before["staff"].items()}
        failed: set[tuple[str, str]] = set()  # (where, user) not done
        for user in admins - old_admins:
            if not await self._try_invite(self.control_room, user):
                failed.add(("admin", user))
        for user in old_admins - admins:
            await self._try_kick(self.control_room, user)
        for dept, users in staff.items():
            for user in users - old_staff.get(dept, set()):
                if not await self._try_invite(rooms[dept], user):
                    failed.add((dept, user))
            for user in old_staff.get(dept, set()) - users:
                await self._try_kick(rooms[dept], user)
        everyone = admins | {u for users in staff.values() for u in users}
        before_all = old_admins | {u for users in old_staff.values() for u in users}
        for user in everyone - before_all:
            await self._try_invite(self.contact_room, user)
        still_staff: set[str] = set()
        for room_id in rooms.values():
            still_staff |= await self.members(room_id)
        for user in before_all - everyone - still_staff:  # not in a department by command either
            await self._try_kick(self.contact_room, user)
        admins = {u for u in admins if ("admin", u) not in failed}
        staff = {d: {u for u in users if (d, u) not in failed} for d, users in staff.items()}
        await self._record_people(admins, staff)

    async def _record_people(self, admins: set[str], staff: dict[str, set[str]]) -> None:
        people = {"admins": sorted(admins), "staff": {k: sorted(v) for k, v in staff.items()}}
        await self.store.settings.set(PEOPLE_KEY, json.dumps(people))

    async def _try_invite(self, room_id: str | None, user: str) -> bool:
        if not room_id:
            return False
        try:
            await self.invite(room_id, user)
        except MatrixRequestError as e:
            log.warning("Could not invite %s to %s: %s", user, room_id, e.errcode)
            return False
        log.info("Invited %s to %s (in the config now)", user, room_id)
        return True

    async def remove(self, room_id: str, user_id: str, reason: str) -> None:
        """Take someone out of a room (staff cannot kick, so Laura does it for !leave)."""
        try:
            await self.bot.kick_user(RoomID(room_id), UserID(user_id), reason=reason)
        except MatrixRequestError as e:
            if e.http_status != 403:  # 403: not in the room (any more)
                raise

    async def _try_kick(self, room_id: str | None, user: str) -> None:
        if not room_id:
            return
        try:
            await self.bot.kick_user(RoomID(room_id), UserID(user), reason=self.t("removed"))
            log.info("Removed %s from %s (no longer in the config)", user, room_id)
        except MatrixRequestError as e:
            log.info("Could not remove %s from %s: %s", user, room_id, e.errcode)

    async def create_dispatch_room(self, dept_id: str, label: str, staff: list[str]) -> str:
        room_id = await self.create_private_room(
            self.t("dispatch_name", label=label), self.t("dispatch_topic", label=label), staff
        )
        await self.store.departments.set_room(dept_id, room_id)
        log.info("Created dispatch room %s for %s", room_id, dept_id)
        return room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        try:
            await self.bot.invite_user(RoomID(room_id), UserID(user_id))
        except MatrixRequestError as e:
            if "already in the room" not in str(e.message or ""):
                raise

    # The consult-room pump ------------------------------------------------------------------

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
            await self.remove_widget(conv.room_id, conv.video_remove)
            await self.store.conversations.set_fields(conv.id, video_remove=None)
        await self._show_outcome(conv, topic, nickname)
        if conv.room_id:
            for user_id in await self.store.staff.to_invite(conv.id):
                await self.invite(conv.room_id, user_id)
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
                    name = await self.staff_name(conv.room_id, conv.closed_by)
                    lines.append(self.t("closed", name=name))
                    txn_id, reply_to = f"laura.closed.{conv.id}", conv.close_event_id
                if self.deletion_date:
                    date, period = await self.deletion_date(conv)
                    lines.append(self.t("retention_notice", date=date, period=period))
                if lines:
                    text = "\n\n".join(lines)
                    await self.notice(conv.room_id, text, txn_id=txn_id, reply_to=reply_to)
                try:
                    await self.ghost(session).leave_room(RoomID(conv.room_id))
                except MatrixRequestError as e:
                    log.info("Ghost of %s could not leave its room: %s", conv.id, e.errcode)
                await self.store.conversations.set_fields(conv.id, ghost_left=True)

    async def _post_rating(self, conv: Conversation) -> None:
        assert conv.room_id and conv.rating and conv.rating_txn_id
        stars = "★" * conv.rating + "☆" * (5 - conv.rating)
        comment = embedded(conv.rating_comment or "")
        text = self.t("rating_posted", stars=stars, comment=comment)
        await self.notice(conv.room_id, text, txn_id=conv.rating_txn_id)
        await self.store.conversations.set_fields(conv.id, rating_posted=True)

    # Video widgets --------------------------------------------------------------------------

    async def add_widget(self, room_id: str, widget_id: str, content: dict[str, Any]) -> None:
        """A widget in the room as Element adds one, pinned at the top (a state event: sending
        it again is harmless)."""
        await self.bot.send_state_event(
            RoomID(room_id), WIDGET_EVENT, cast(Any, content), state_key=widget_id
        )
        layout = {
            "widgets": {widget_id: {"container": "top", "index": 0, "width": 100, "height": 40}}
        }
        await self.bot.send_state_event(
            RoomID(room_id), LAYOUT_EVENT, cast(Any, layout), state_key=""
        )

    async def remove_widget(self, room_id: str, widget_id: str) -> None:
        """Take a widget out (its state emptied, as Element does); the call ends for staff."""
        await self.bot.send_state_event(
            RoomID(room_id), WIDGET_EVENT, cast(Any, {}), state_key=widget_id
        )
        await self.notice(
            room_id, self.t("video_ended_notice"), txn_id=f"laura.video-end.{widget_id}"
        )

    def ghost_name(self, session: Session) -> str:
        """The visitor's name on every message in the consult room. A visitor the portal
        vouched for carries Laura's portal marker; no visitor-chosen name can (textsafety)."""
        if session.verified_id:
            return self.t("verified_name", name=session.nickname)
        return session.nickname

    async def _create_consult_room(self, conv: Conversation, session: Session, topic: str) -> str:
        ghost = self.ghost(session)
        await ghost.ensure_registered()
        # The taker is invited after the history is in the room (sync_conversation), not in
        # createRoom's invite list: that would save a request but no event, and a taker who
        # joined at once would find the room without what was said so far.
        room_id = await self.create_private_room(
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
                {"membership": "join", "displayname": self.ghost_name(session)},
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
        await self.notice(conv.room_id, "\n".join(lines), txn_id=txn_id)
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
            if ev.sender == "visitor" and attachment:
                intent = self.ghost(session)
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
                    content = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
            elif ev.sender == "visitor":
                intent = self.ghost(session)
                # Every character as typed, bidi controls visible (textsafety.for_staff).
                body = for_staff(ev.body or "")
                content = {"msgtype": "m.text", "body": body, "m.mentions": {}}
            elif ev.sender == "staff":
                intent = self.bot
                # Written before the chat was taken (waiting room), or during it (a canned
                # answer): the copy says which.
                during = bool(conv.taken_at) and ev.ts >= (conv.taken_at or 0)
                copy = "staff_copy_live" if during else "staff_copy"
                body = self.t(copy, name=ev.name or "?", body=ev.body or "")
                content = {"msgtype": "m.notice", "body": body, "m.mentions": {}}
            else:
                intent = self.bot
                content = {"msgtype": "m.notice", "body": ev.body or "", "m.mentions": {}}
            event_id = await self.send(conv.room_id, content, ev.mx_txn_id, intent)
            await self.store.events.mark_sent(ev.session_id, ev.seq, event_id)

    async def _file_content(self, intent: IntentAPI, attachment_id: str) -> dict[str, Any]:
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
        info: dict[str, Any] = {"mimetype": att.mime, "size": att.size}
        if att.width and att.height:
            info.update(w=att.width, h=att.height)
        if att.thumbnail_mxc:
            info["thumbnail_url"] = att.thumbnail_mxc
            info["thumbnail_info"] = {"mimetype": att.thumbnail_mime}
        return {
            "msgtype": "m.image" if att.kind == "image" else "m.file",
            "body": att.name,
            "filename": att.name,
            "url": att.mxc,
            "info": info,
            "m.mentions": {},
        }

    async def _mirror_waiting(self, conv: Conversation, session: Session) -> None:
        """Before anyone took the chat: what the visitor wrote, in the request's thread (each
        once; the messages stay pending for the consult room, made when someone takes it)."""
        for ev in await self.store.events.pending_for(conv.id):
            if ev.sender == "visitor":
                clip = "📎 " if ev.data and "attachment" in ev.data else ""
                text = embedded(f"{clip}{ev.body or ''}")
                await self._to_thread(conv, f"{session.nickname}: {text}", ev)

    async def _to_thread(self, conv: Conversation, text: str, ev: Any) -> None:
        assert conv.dispatch_room_id and conv.dispatch_event_id
        content = {
            "msgtype": "m.text",
            "body": text,
            "m.mentions": {},
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": conv.dispatch_event_id,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": conv.dispatch_event_id},
            },
        }
        await self.send(conv.dispatch_room_id, content, f"{ev.mx_txn_id}.thread")

    async def _view(self, conv: Conversation, topic: str, nickname: str) -> str:
        """The request as it stands: who it is offered to now (one at a time), or that
        nobody is free; the waiting room's count of notifications and who spoke last."""
        assert conv.dispatch_room_id and conv.dispatch_txn_id
        lines = [self.t("dispatch", topic=topic, nickname=nickname, since=self._since(conv))]
        session = await self.store.sessions.get_by_id(conv.session_id)
        if session and session.verified_id:
            lines.append(self.t("verified_line", name=nickname, id=session.verified_id))
        asked = await self.store.offers.of_round(conv.id, conv.dispatch_txn_id)
        if conv.offered_to:
            name = await self.display_name(conv.dispatch_room_id, conv.offered_to)
            until = self._clock(conv.offer_deadline)
            lines.append(self.t("offered_line", name=name, until=until))
        elif not any(o.outcome is None for o in asked):
            lines.append(self.t("nobody_available_line"))
        if conv.notify_count or conv.last_speaker:
            who = self.t(f"speaker_{conv.last_speaker or 'none'}")
            lines.append(self.t("waiting_room_line", count=conv.notify_count, last=who))
        return "\n".join(lines)

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
        content = self._mention(text, sorted(o.user_id for o in asks))
        event_id = await self.send(conv.dispatch_room_id, content, conv.dispatch_txn_id)
        await self.store.conversations.set_fields(conv.id, dispatch_event_id=event_id)
        conv.dispatch_event_id = event_id
        # This text is shown now: no edit needed for it (see _refresh_view).
        view_txn = self._view_txn(conv, text)
        await self.store.sends.note(view_txn, conv.dispatch_room_id)
        await self.store.sends.confirm(view_txn, event_id)
        for o in asks:
            await self.store.offers.posted(conv.id, o.round, o.user_id, event_id)
        for suffix, key in (("take", TAKE_KEY), ("decline", DECLINE_KEY)):
            rel = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
            try:
                await self.send(
                    conv.dispatch_room_id,
                    rel,
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
            content = self._mention(ping, sorted(o.user_id for o in asks))
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": dispatch}}
            event_id = await self.send(room_id, content, asks[0].txn_id)
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
        text = await self._view(conv, topic, nickname)
        txn_id = self._view_txn(conv, text)
        if await self.store.sends.started_at(txn_id) is not None:
            await self._edit(conv, text, txn_id)  # shown, or tried: the ledger skips or ends it
            return
        core = "\n".join(
            line for line in text.split("\n") if not line.startswith(self._waiting_room_prefix())
        )
        now = time.monotonic()
        for conv_id, (at, _) in list(self._edited.items()):
            if now - at > VIEW_EDIT_INTERVAL:
                del self._edited[conv_id]
        last = self._edited.get(conv.id)
        if last and last[1] == core and self.sync_later:
            self.sync_later(conv.id, VIEW_EDIT_INTERVAL - (now - last[0]) + 0.05)
            return
        await self._edit(conv, text, txn_id)
        self._edited[conv.id] = (now, core)

    def _waiting_room_prefix(self) -> str:
        """How the waiting-room line starts (the text before its first value)."""
        sample = self.t("waiting_room_line", count=0, last="")
        return sample.split("0", 1)[0]

    async def _edit(self, conv: Conversation, text: str, txn_id: str) -> None:
        """Replace the text of the dispatch message (an edit never notifies anyone)."""
        assert conv.dispatch_room_id and conv.dispatch_event_id
        new = {"msgtype": "m.text", "body": text, "m.mentions": {}}
        content = {
            "msgtype": "m.text",
            "body": f"* {text}",
            "m.new_content": new,
            "m.mentions": {},
            "m.relates_to": {"rel_type": "m.replace", "event_id": conv.dispatch_event_id},
        }
        await self.send(conv.dispatch_room_id, content, txn_id)

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
            people = sorted(await self.members(room_id))
            text = self.t("escalation_department", topic=topic, nickname=nickname, since=since)
            reply_to: str | None = conv.dispatch_event_id
        elif level >= 2 and self.control_room:
            room_id = self.control_room
            people = sorted(self.config["laura.admins"])
            text = self.t("escalation_admins", topic=topic, nickname=nickname, since=since)
            reply_to = None
        else:
            return  # nowhere to say it yet (no dispatch message); tried again on the next sync
        content = self._mention(text, people)
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        await self.send(room_id, content, f"{conv.dispatch_txn_id}.escalate{level}")
        await self.store.conversations.set_fields(conv.id, escalation_posted=level)
        log.info("Conversation %s: escalation %s posted", conv.id, level)

    def _since(self, conv: Conversation) -> str:
        return self._clock(conv.queued_at)

    def _mention(self, text: str, people: list[str]) -> dict[str, Any]:
        """An m.text that notifies these people (m.notice never notifies)."""
        body, formatted = text, html.escape(text)
        if people:
            body += "\n" + ", ".join(people)
            formatted += "<br>" + ", ".join(pill(p) for p in people)
        return {
            "msgtype": "m.text",
            "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": formatted,
            "m.mentions": {"user_ids": people},
        }

    async def _show_outcome(self, conv: Conversation, topic: str, nickname: str) -> None:
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

    # Contact requests -------------------------------------------------------------------------

    async def post_contact_requests(self, _key: str = "") -> None:
        if not self.contact_room:
            return
        for req in await self.store.contact_requests.all_unposted():
            conv = await self.store.conversations.get_by_id(req.conversation_id)
            assert conv is not None
            session = await self.store.sessions.get_by_id(conv.session_id)
            assert session is not None
            dept = await self.store.departments.get_by_id(conv.department_id or "")
            topic = dept.label if dept else "?"
            nickname = req.name or session.nickname
            question = await self.store.events.first_visitor_message(conv.id)
            # What the visitor typed never starts a line of Laura's (textsafety.embedded).
            rows = [
                (self.t("label_name"), nickname),
                (self.t("label_phone"), req.phone),
                (self.t("label_email"), req.email),
                (self.t("label_message"), req.message and embedded(req.message)),
                (self.t("label_question"), question and embedded(question)),
            ]
            title = self.t("contact_request", topic=topic, nickname=nickname)
            body = title + "".join(f"\n{k}: {v}" for k, v in rows if v)
            formatted = f"<b>{html.escape(title)}</b>" + "".join(
                f"<br>{html.escape(k)}: {html.escape(v)}" for k, v in rows if v
            )
            content = {
                "msgtype": "m.text",
                "body": body,
                "format": "org.matrix.custom.html",
                "formatted_body": formatted,
                "m.mentions": {},
            }
            event_id = await self.send(self.contact_room, content, req.mx_txn_id)
            await self.store.contact_requests.mark_posted(req.id, event_id)
            log.info("Contact request %s posted", req.id)


def _is_laura_text(ev: Event) -> bool:
    """A message of Laura's to the visitor, text only (no file)."""
    if ev.type != "message" or ev.sender != "bot":
        return False
    return not (ev.data and json.loads(ev.data).get("attachment"))
