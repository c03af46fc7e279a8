"""Turns stored Matrix events (the inbox) into domain calls.

Order is kept per room, where it matters (a message after a join, a withdrawal after a
reaction); rooms never wait for each other. An event whose shape Laura cannot use is moved aside
at once (with a notice to the person who is waiting for it); one that fails for another reason
is retried a few times and then moved aside, so it never stalls the events behind it. Transient
failures (homeserver or database away) are retried with back-off for much longer, since every
event would fail the same way. Back-off belongs to one event and ends with it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any

from ..commands import CONSULT, CONTROL, DISPATCH, OTHER, Context, split
from ..db.conversations import Conversation
from ..db.inbox import InboxEvent
from ..dispatch.logic import Decision, parse_answer
from ..faults import describe, is_transient
from ..tasks import KeyedRunner
from ..util import now_ms, storable_text

if TYPE_CHECKING:
    from ..app import Laura

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


class Malformed(Exception):
    """The event's content has a shape Laura cannot use; skipped at once, never retried."""

    def __init__(self, reason: str, notice: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notice = notice  # staff text id for the sender, where a person is waiting


def _obj(value: Any, what: str, notice: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object", notice)
    return value


def _str(value: Any, what: str, notice: str | None = None) -> str:
    """A string the database can store: no NUL, no lone UTF-16 surrogate."""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string", notice)
    if not storable_text(value):
        raise Malformed(f"{what} is not valid text", notice)
    return value


class Router:
    def __init__(self, laura: Laura) -> None:
        self.laura = laura
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
        await self.laura.store.inbox.clear_backoff()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.kick(await self.laura.store.inbox.rooms_with_pending())

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
        inbox = self.laura.store.inbox
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
        inbox = self.laura.store.inbox
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
        bridge = self.laura.bridge
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
        sender = _str(raw.get("sender"), "sender")
        room_id = _str(raw.get("room_id"), "room_id")
        event_id = _str(raw.get("event_id"), "event_id")
        if self.laura.config.is_own_user(sender):
            return
        etype = raw.get("type")
        if etype not in ("m.room.message", "m.reaction", "m.room.redaction", "m.room.member"):
            return
        kind, conv = await self._room_kind(room_id)
        if etype == "m.room.message":
            notice = "malformed_message" if kind == CONSULT else None
            content = _obj(raw.get("content"), "content", notice)
            body = content.get("body")
            if isinstance(body, str) and self._is_command(kind, body):
                await self._command(kind, room_id, sender, event_id, body.strip())
            elif conv is not None:
                await self._staff_message(conv, room_id, sender, event_id, content)
        elif etype == "m.reaction" and kind == DISPATCH:
            content = _obj(raw.get("content"), "content", "malformed_reaction")
            await self._reaction(room_id, sender, event_id, content)
        elif etype == "m.room.redaction":
            raw_content = raw.get("content")
            redacts = raw.get("redacts") or (
                raw_content.get("redacts") if isinstance(raw_content, dict) else None
            )
            withdrawn = await self.laura.store.answers.withdraw(_str(redacts, "redacts"))
            if withdrawn:
                log.info("%s withdrew %s on %s", sender, withdrawn[2], withdrawn[0])
        elif etype == "m.room.member" and conv is not None:
            user = _str(raw.get("state_key"), "state_key")
            if self.laura.config.is_own_user(user):
                return
            content = _obj(raw.get("content"), "content")
            membership = _str(content.get("membership"), "membership")
            name = content.get("displayname")
            if not isinstance(name, str) or not name.strip():
                name = user.split(":")[0].lstrip("@")
            await self.laura.conversations.staff_membership(conv, user, name, membership)

    async def _room_kind(self, room_id: str) -> tuple[str, Conversation | None]:
        if room_id == self.laura.bridge.control_room:
            return CONTROL, None
        if await self.laura.store.departments.get_by_room(room_id) is not None:
            return DISPATCH, None
        conv = await self.laura.store.conversations.get_by_room(room_id)
        if conv is not None:
            return CONSULT, conv
        return OTHER, None

    def _is_command(self, kind: str, body: str) -> bool:
        """Anything starting with ! is a command, except in a consult room, where only a known
        command name is: "!!! Let op" there is a message for the visitor."""
        text = body.strip()
        if not text.startswith("!"):
            return False
        return kind != CONSULT or split(text)[0] in self.laura.commands.commands

    async def _command(
        self, kind: str, room_id: str, sender: str, event_id: str, body: str
    ) -> None:
        laura = self.laura
        reply = await laura.store.commands.reply_for(event_id)
        if reply is None:
            reply = await self._run_command(kind, room_id, sender, event_id, body)
            await laura.store.commands.record(event_id, room_id, reply)
        # If this send fails, the event is retried: with the stored reply, not a second run.
        await laura.bridge.notice(
            room_id, reply, txn_id=f"laura.reply.{event_id}", reply_to=event_id
        )

    async def _run_command(
        self, kind: str, room_id: str, sender: str, event_id: str, body: str
    ) -> str:
        """Run a command once and return its reply; a failure (of any kind: a command is not
        safe to repeat) is a short error with a reference that is also in the log."""
        laura = self.laura
        name, args = split(body)
        cmd = laura.commands.commands.get(name)
        if cmd is None or kind not in cmd.rooms:
            reply = laura.bridge.t("unknown_command", name=f"!{name[:40]}")
        elif cmd.admin and sender not in laura.config["laura.admins"]:
            log.info("Refused !%s from non-admin %s", name, sender)
            reply = laura.bridge.t("refused")
        else:
            log.info("Command !%s from %s in %s", name, sender, kind)
            ctx = Context(laura, room_id, kind, sender, event_id, args)
            try:
                reply = await cmd.handler(ctx)
            except Exception as e:
                ref = secrets.token_hex(4)
                log.error(
                    "Command !%s failed (reference %s): %s", name, ref, describe(e), exc_info=e
                )
                reply = laura.bridge.t("command_failed", ref=ref)
        return reply

    async def _staff_message(
        self,
        conv: Conversation,
        room_id: str,
        sender: str,
        event_id: str,
        content: dict[str, Any],
    ) -> None:
        laura = self.laura
        bad = "malformed_message"
        relates = content.get("m.relates_to")
        if relates is not None and _obj(relates, "m.relates_to", bad).get("rel_type") == (
            "m.replace"
        ):
            content = _obj(content.get("m.new_content"), "m.new_content", bad)
        body = _str(content.get("body"), "body", bad)
        if not body:
            return
        msgtype = content.get("msgtype")
        attachment = msgtype in ("m.image", "m.file", "m.video", "m.audio")
        name = await laura.store.staff.name_of(conv.id, sender) or await laura.bridge.display_name(
            room_id, sender
        )
        if attachment:
            body = f"📎 {body}"
        delivered = await laura.conversations.staff_message(conv, event_id, name, body)
        if not delivered:
            await laura.bridge.notice(
                room_id,
                laura.bridge.t("not_delivered"),
                txn_id=f"laura.nd.{event_id}",
                reply_to=event_id,
            )
        elif attachment:
            await laura.bridge.notice(
                room_id,
                laura.bridge.t("attachment"),
                txn_id=f"laura.att.{event_id}",
                reply_to=event_id,
            )

    async def _reaction(
        self, room_id: str, sender: str, event_id: str, content: dict[str, Any]
    ) -> None:
        laura = self.laura
        bad = "malformed_reaction"
        relates = _obj(content.get("m.relates_to"), "m.relates_to", bad)
        if relates.get("rel_type") != "m.annotation":
            return
        target = _str(relates.get("event_id"), "m.relates_to.event_id", bad)
        key = _str(relates.get("key"), "m.relates_to.key", bad)
        conv = await laura.store.conversations.get_by_dispatch_event(target)
        if conv is None:
            return
        answer = parse_answer(key)
        if answer is None:
            return
        members = await laura.bridge.members(room_id)
        user_name = await laura.bridge.display_name(room_id, sender)
        outcome = await laura.dispatch.answer(conv, sender, user_name, answer, event_id, members)
        text = None
        if outcome.decision is Decision.ALREADY_TAKEN:
            text = laura.bridge.t("already_taken", user=user_name, name=outcome.taker_name)
        elif outcome.decision is Decision.TOO_LATE:
            text = laura.bridge.t("too_late", user=user_name)
        elif outcome.decision is Decision.NOT_MEMBER:
            text = laura.bridge.t("not_member", user=user_name)
        if text:
            await laura.bridge.notice(
                room_id, text, txn_id=f"laura.re.{event_id}", reply_to=conv.dispatch_event_id
            )
