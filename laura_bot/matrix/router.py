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
them. A command is never retried: it runs once (commands/runner.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from mautrix.types import RoomID

from ..commands import CONSULT, CONTROL, DISPATCH, OTHER
from ..commands.runner import CommandRunner
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

log = logging.getLogger(__name__)

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
    (DispatchRoom, ConsultRoom, or the commands' runner)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        bridge: MatrixBridge,
        dispatch_room: DispatchRoom,
        consult_room: ConsultRoom,
        command_runner: CommandRunner,
    ) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.dispatch_room = dispatch_room
        self.consult_room = consult_room
        self.command_runner = command_runner
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
        # A release still reading the inbox when Laura stops: it must not outlive the database.
        task = self._release_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
        if conv is not None and conv.purged_at is not None:
            # A deleted chat's room, on its way to being deleted on the homeserver too:
            # nothing in it is acted on (a command run again would bring back what was
            # deleted: a case, an appointment).
            log.debug("Event %s in the room of deleted chat %s: ignored", event_id, conv.id)
            return
        if etype == "m.room.message":
            notice = "malformed_message" if kind == CONSULT else None
            content = obj(raw.get("content"), "content", notice)
            body = content.get("body")
            if isinstance(body, str) and (replied := self._reply_target(content)):
                # Older clients quote the message replied to ("> <@anna> ...") before the
                # text: the quote is not the sender's words, for a command or for the visitor.
                body = trim_reply_fallback(body, replied)
                content = {**content, "body": body}
            if isinstance(body, str) and self.command_runner.is_command(kind, body):
                await self.command_runner.run(kind, room_id, sender, event_id, body.strip())
            elif (
                conv is not None
                and (target := self._reply_target(content))
                and (
                    await self.command_runner.answer_to_laura(
                        room_id, sender, event_id, target, content
                    )
                )
            ):
                pass  # an answer to one of Laura's questions (or notices): not for the visitor
            elif conv is not None and (held := self.command_runner.held_back(content)):
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
