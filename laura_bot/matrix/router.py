"""Turns stored Matrix events (the inbox) into domain calls.

Order is kept per room, where it matters (a message after a join, a withdrawal after a
reaction); rooms never wait for each other. An event whose shape Laura cannot use is moved aside
at once (with a notice to the person who is waiting for it); one that fails for another reason
is retried a few times and then moved aside, so it never stalls the events behind it. Transient
failures (homeserver or database away) are retried with back-off until they pass, never moved
aside, since every event would fail the same way. Back-off belongs to one event and ends with it.

Who handles which failure: this router retries one event (its attempts live in the inbox row);
KeyedRunner retries a whole unit of outgoing work (a conversation's sync) with back-off; the
catch-up holds the router while Laura may have missed events and releases it once it has read
them. A command is never retried: it runs once (see _command).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventID, RoomID

from ..commands import CONSULT, CONTROL, DISPATCH, OTHER, Context, Registry, split
from ..db.conversations import Conversation
from ..db.inbox import InboxEvent
from ..faults import describe, is_transient
from ..tasks import KeyedRunner
from ..util import now_ms
from ..video import WIDGET_TYPE
from .content import trim_reply_fallback
from .shapes import Malformed, obj, text

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store
    from .bridge import MatrixBridge
    from .consult_room import ConsultRoom
    from .dispatch_room import DispatchRoom

ContextFactory = Callable[[str, str, str, str, list[str]], Context]

log = logging.getLogger("laura.router")

MAX_ATTEMPTS = 3  # a non-transient failure: tried this often, then moved aside
RETRY_DELAYS = (0.2, 1.0)  # seconds before the 2nd and 3rd try
# A transient failure (homeserver or database away) is retried until it works, never moved
# aside: every event would fail the same way, and none may be lost for it.
TRANSIENT_MAX_DELAY = 30.0


def _retry_delay(attempts: int, transient: bool) -> float:
    """Seconds before the next try; the back-off belongs to this event alone."""
    if transient:
        return min(0.5 * 2 ** min(attempts - 1, 10), TRANSIENT_MAX_DELAY)
    return RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]


class Router:
    """Decides nothing itself: it takes events from the inbox in order, checks their envelope,
    finds the room's kind and hands each over to the one place that owns that kind of room
    (DispatchRoom, ConsultRoom, or the commands)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        bridge: MatrixBridge,
        dispatch_room: DispatchRoom,
        consult_room: ConsultRoom,
        commands: Registry,
        make_context: ContextFactory,
    ) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.dispatch_room = dispatch_room
        self.consult_room = consult_room
        self.commands = commands
        self.make_context = make_context
        self.runner = KeyedRunner("inbox", self.process_room)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        # Held while Laura may have missed events (at start-up, and while the homeserver was
        # away): a caught-up event must be handled before the ones that came after it.
        self._held = True
        self._release_task: asyncio.Task[None] | None = None

    def hold(self) -> None:
        self._held = True

    def release(self, room_ids: list[str]) -> None:
        self._held = False
        self.kick(room_ids)
        self._release_task = asyncio.create_task(self._kick_pending())

    async def _kick_pending(self) -> None:
        await self.store.inbox.clear_backoff()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.kick(await self.store.inbox.rooms_with_pending())

    # Scheduling -----------------------------------------------------------------------------

    def kick(self, room_ids: set[str] | list[str]) -> None:
        for room_id in room_ids:
            self.runner.kick(room_id)

    def _kick_later(self, room_id: str, delay: float) -> None:
        old = self._timers.pop(room_id, None)
        if old:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[room_id] = loop.call_later(delay, self._fire, room_id)

    def _fire(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        self.runner.kick(room_id)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.runner.idle(timeout=5)
        await self.runner.close()

    # Processing -----------------------------------------------------------------------------

    async def process_room(self, room_id: str) -> None:
        inbox = self.store.inbox
        while not self._held and (batch := await inbox.pending_in(room_id)):
            for evt in batch:
                if self._held:
                    return
                wait_ms = (evt.next_attempt_at or 0) - now_ms()
                if wait_ms > 0:
                    self._kick_later(room_id, wait_ms / 1000)
                    return
                if not await self._process(evt):
                    return

    async def _process(self, evt: InboxEvent) -> bool:
        """Handle one event; False when it must be retried later (the room waits for it)."""
        inbox = self.store.inbox
        try:
            await self.handle(evt.raw)
        except Malformed as e:
            log.warning(
                "Moved aside malformed event %s (%s) in %s: %s",
                evt.event_id,
                str(evt.raw.get("type"))[:80],
                evt.room_id,
                e.reason,
            )
            await inbox.move_aside(evt.event_id, evt.attempts + 1, f"malformed: {e.reason}")
            if e.notice:
                await self._tell_sender(evt, e.notice)
            return True
        except Exception as e:
            attempts = evt.attempts + 1
            what = describe(e)
            transient = is_transient(e)
            if transient or attempts < MAX_ATTEMPTS:
                delay = _retry_delay(attempts, transient)
                log.warning(
                    "Event %s in %s failed (%s, attempt %d); retrying in %.1fs",
                    evt.event_id,
                    evt.room_id,
                    what,
                    attempts,
                    delay,
                )
                await inbox.retry_later(evt.event_id, attempts, now_ms() + int(delay * 1000))
                self._kick_later(evt.room_id, delay)
                return False
            log.error(
                "Moved aside event %s in %s after %d attempts: %s (see !deadletters)",
                evt.event_id,
                evt.room_id,
                attempts,
                what,
            )
            await inbox.move_aside(evt.event_id, attempts, what)
            if evt.raw.get("type") in ("m.room.message", "m.reaction"):
                await self._tell_sender(evt, "event_failed", seq=evt.seq)  # a person waits
            return True
        await inbox.mark_handled(evt.event_id)
        return True

    async def _tell_sender(self, evt: InboxEvent, text_id: str, **values: Any) -> None:
        sender = evt.raw.get("sender")
        bridge = self.bridge
        try:
            await bridge.notice(
                evt.room_id,
                bridge.t(text_id, user=sender if isinstance(sender, str) else "", **values),
                txn_id=f"laura.bad.{evt.event_id}",
                reply_to=evt.event_id,
            )
        except Exception as e:
            log.warning("Could not tell the sender of %s: %s", evt.event_id, describe(e))

    # Translating events ---------------------------------------------------------------------

    async def handle(self, raw: dict[str, Any]) -> None:
        """Works on the raw event as Synapse sent it, checking the shape of what it reads."""
        sender = text(raw.get("sender"), "sender")
        room_id = text(raw.get("room_id"), "room_id")
        event_id = text(raw.get("event_id"), "event_id")
        if self.config.is_own_user(sender):
            return
        etype = raw.get("type")
        if etype not in (
            "m.room.message",
            "m.reaction",
            "m.room.redaction",
            "m.room.member",
            WIDGET_TYPE,
        ):
            return
        kind, conv = await self._room_kind(room_id)
        if etype == "m.room.message":
            notice = "malformed_message" if kind == CONSULT else None
            content = obj(raw.get("content"), "content", notice)
            body = content.get("body")
            if isinstance(body, str) and (replied := self._reply_target(content)):
                # Older clients quote the message replied to ("> <@anna> ...") before the
                # text: the quote is not the sender's words, for a command or for the visitor.
                body = trim_reply_fallback(body, replied)
                content = {**content, "body": body}
            if isinstance(body, str) and self._is_command(kind, body):
                await self._command(kind, room_id, sender, event_id, body.strip())
            elif (
                conv is not None
                and (target := self._reply_target(content))
                and (await self._answers_laura(room_id, sender, event_id, target, content))
            ):
                pass  # an answer to one of Laura's questions (or notices): not for the visitor
            elif conv is not None and (held := self._not_for_visitor(content)):
                # An edited command, a mistyped one or one of another room: it may hold
                # internal notes (!case), user ids or settings.
                text_id, values = held
                await self.bridge.notice(
                    room_id,
                    self.bridge.t(text_id, **values),
                    txn_id=f"laura.held.{event_id}",
                    reply_to=event_id,
                )
            elif conv is not None:
                await self.consult_room.message(conv, room_id, sender, event_id, content)
            elif kind == DISPATCH:
                await self.dispatch_room.message(room_id, sender, event_id, content)
        elif etype == "m.reaction" and kind == DISPATCH:
            content = obj(raw.get("content"), "content", "malformed_reaction")
            await self.dispatch_room.reaction(room_id, sender, event_id, content)
        elif etype == "m.room.redaction":
            raw_content = raw.get("content")
            redacts = raw.get("redacts") or (
                raw_content.get("redacts") if isinstance(raw_content, dict) else None
            )
            await self.dispatch_room.redaction(sender, text(redacts, "redacts"))
        elif etype == WIDGET_TYPE:
            if conv is not None:
                widget_id = text(raw.get("state_key"), "state_key")
                content = obj(raw.get("content"), "content")
                await self.consult_room.widget(conv, room_id, sender, event_id, widget_id, content)
        elif etype == "m.room.member":
            user = text(raw.get("state_key"), "state_key")
            content = obj(raw.get("content"), "content")
            if user == self.bridge.bot.mxid and content.get("membership") == "invite":
                await self._invited(room_id, sender, kind)
            elif self.config.is_own_user(user):
                return
            elif conv is not None:
                await self.consult_room.membership(conv, user, content)
            elif kind == DISPATCH:
                await self.dispatch_room.membership(room_id)

    async def _invited(self, room_id: str, sender: str, kind: str) -> None:
        """Someone invites Laura to a room: a direct chat of a staff member or admin is
        joined (they give their own commands there, like !status); anyone else's invite is
        declined, so strangers cannot pull Laura into their rooms."""
        if kind != OTHER:
            return
        if await self.bridge.people.is_staff(sender):
            log.info("Joining a direct chat with %s", sender)
            await self.bridge.bot.join_room(RoomID(room_id))
            await self.bridge.notice(
                room_id, self.bridge.t("direct_hello"), txn_id=f"laura.hello.{room_id}"
            )
        else:
            log.info("Declining an invite from %s (not staff)", sender)
            await self.bridge.bot.leave_room(RoomID(room_id))

    async def _room_kind(self, room_id: str) -> tuple[str, Conversation | None]:
        if room_id == self.bridge.control_room:
            return CONTROL, None
        if await self.store.departments.get_by_room(room_id) is not None:
            return DISPATCH, None
        conv = await self.store.conversations.get_by_room(room_id)
        if conv is not None:
            return CONSULT, conv
        return OTHER, None

    @staticmethod
    def _reply_target(content: dict[str, Any]) -> str | None:
        relates = content.get("m.relates_to")
        reply = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
        target = reply.get("event_id") if isinstance(reply, dict) else None
        return target if isinstance(target, str) and len(target) < 256 else None

    async def _answers_laura(
        self, room_id: str, sender: str, event_id: str, target: str, content: dict[str, Any]
    ) -> bool:
        """A reply to one of Laura's messages in a consult room is for Laura, never for the
        visitor: the answer to a question she asked (a step of !case) is handled; a reply to
        any other message of hers is held back, and she says so. False: not a reply to her."""
        handler = self.commands.replies.get(target)
        if handler is None:
            try:
                event = await self.bridge.bot.get_event(RoomID(room_id), EventID(target))
            except MatrixRequestError as e:
                if e.http_status in (403, 404):
                    return False  # not visible (any more): an ordinary message
                raise
            if event.sender != self.bridge.bot.mxid:
                return False
        body = content.get("body")
        text_ = trim_reply_fallback(body, target).strip() if isinstance(body, str) else ""
        first, stored = await self.store.commands.start(event_id, room_id)
        if first:
            if handler is None:
                reply = self.bridge.t("reply_to_laura")
            else:
                self.commands.replies.pop(target, None)
                ctx = self.make_context(room_id, CONSULT, sender, event_id, [])
                try:
                    reply = await handler(ctx, text_)
                except Exception as e:
                    ref = secrets.token_hex(4)
                    log.error("Answer %s failed (reference %s): %s", event_id, ref, describe(e))
                    reply = self.bridge.t("command_failed", ref=ref)
            await self.store.commands.finish(event_id, reply)
        elif not stored:
            return True  # handled and answered before
        else:
            reply = stored
        if reply:
            await self.bridge.notice(
                room_id, reply, txn_id=f"laura.reply.{event_id}", reply_to=event_id
            )
        await self.store.commands.sent(event_id)
        return True

    def _not_for_visitor(self, content: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        """(text id, its values) when a consult-room message must not reach the visitor: an
        edit that makes it a command, a command of another room ("!audit @anna", "!set …":
        staff are told where it works), or what looks like a mistyped command ("!caes")."""
        body = content.get("body")
        relates = content.get("m.relates_to")
        new = content.get("m.new_content")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            body = new.get("body") if isinstance(new, dict) else None
            if isinstance(body, str) and self._is_command(CONSULT, body):
                return "edited_command", {"command": body.strip().split()[0][:40]}
        if not isinstance(body, str) or not body.strip().startswith("!"):
            return None
        rest = body.strip()[1:]
        word = rest.split(maxsplit=1)[0].lower() if rest.strip() else ""
        elsewhere = self.commands.commands.get(word)
        if elsewhere is not None and CONSULT not in elsewhere.rooms:
            where = [self.bridge.t(f"command_room_{kind}") for kind in elsewhere.rooms]
            return "wrong_room_command", {
                "command": f"!{word}",
                "where": self.bridge.t("command_rooms", rooms=where),
            }
        known = [n for n, c in self.commands.commands.items() if CONSULT in c.rooms and n != "#"]
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
        if close and word not in known:
            return "near_command", {"command": f"!{close[0]}"}
        return None

    def _is_command(self, kind: str, body: str) -> bool:
        """Anything starting with ! is a command, except in a consult room, where only a command
        allowed there is: "!!! Let op" or "!Take care" there is a message for the visitor.
        In a consult room "#" and "#name" are the canned-answer command too."""
        text = body.strip()
        if kind == CONSULT and text.startswith("#") and "#" in self.commands.commands:
            return len(text) == 1 or not text[1].isspace()  # "#" or "#name": canned answers
        if not text.startswith("!"):
            return False
        if kind != CONSULT:
            return True
        cmd = self.commands.commands.get(split(text)[0])
        return cmd is not None and CONSULT in cmd.rooms

    async def _command(
        self, kind: str, room_id: str, sender: str, event_id: str, body: str
    ) -> None:
        if body.startswith("#"):
            body = "!# " + body[1:]  # the canned-answer command, with the name as argument
        first, stored = await self.store.commands.start(event_id, room_id)
        if first:
            reply = await self._run_command(kind, room_id, sender, event_id, body)
            await self.store.commands.finish(event_id, reply)
        elif stored:
            reply = stored  # it ran; only its reply still has to go out
        elif stored == "":
            return  # ran and answered before
        else:
            # Laura stopped while it ran: running it again could do it twice.
            ref = secrets.token_hex(4)
            log.error("Command in %s was interrupted (reference %s)", event_id, ref)
            reply = self.bridge.t("command_interrupted", ref=ref)
            await self.store.commands.finish(event_id, reply)
        # If this send fails, the event is retried: with the stored reply, not a second run.
        if reply:  # "": the command answered itself (a question that starts a dialogue)
            await self.bridge.notice(
                room_id, reply, txn_id=f"laura.reply.{event_id}", reply_to=event_id
            )
        await self.store.commands.sent(event_id)

    async def _run_command(
        self, kind: str, room_id: str, sender: str, event_id: str, body: str
    ) -> str:
        """Run a command once and return its reply; a failure (of any kind: a command is not
        safe to repeat) is a short error with a reference that is also in the log."""
        name, args = split(body)
        cmd = self.commands.commands.get(name)
        if cmd is None or kind not in cmd.rooms:
            reply = self.bridge.t("unknown_command", name=f"!{name[:40]}")
        elif cmd.admin and sender not in self.config["laura.admins"]:
            log.info("Refused !%s from non-admin %s", name, sender)
            reply = self.bridge.t("refused")
        else:
            log.info("Command !%s from %s in %s", name, sender, kind)
            ctx = self.make_context(room_id, kind, sender, event_id, args)
            try:
                reply = await cmd.handler(ctx)
            except Exception as e:
                ref = secrets.token_hex(4)
                log.error(
                    "Command !%s failed (reference %s): %s", name, ref, describe(e), exc_info=e
                )
                reply = self.bridge.t("command_failed", ref=ref)
        return reply
