"""Running a command given in a room, once, and answering it; and what in a consult room is
held back from the visitor as a command (or a near one). The Matrix router hands over every
message that is for Laura rather than for the visitor."""

from __future__ import annotations

import difflib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventID, RoomID

from ..faults import describe
from ..matrix.content import trim_reply_fallback
from .base import CONSULT, Context, Registry, split

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import Config
    from ..db import Store
    from ..matrix.bridge import MatrixBridge

    ContextFactory = Callable[[str, str, str, str, list[str]], Context]

log = logging.getLogger(__name__)


class CommandRunner:
    def __init__(
        self,
        config: Config,
        store: Store,
        bridge: MatrixBridge,
        registry: Registry,
        make_context: ContextFactory,
    ) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge
        self.registry = registry
        self.make_context = make_context

    async def answer_to_laura(
        self, room_id: str, sender: str, event_id: str, target: str, content: dict[str, Any]
    ) -> bool:
        """A reply to one of Laura's messages in a consult room is for Laura, never for the
        visitor: the answer to a question she asked (a step of !case) is handled; a reply to
        any other message of hers is held back, and she says so. False: not a reply to her."""
        handler = self.registry.replies.get(target)
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
                self.registry.replies.pop(target, None)
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

    def held_back(self, content: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        """(text id, its values) when a consult-room message must not reach the visitor: an
        edit that makes it a command, a command of another room ("!audit @anna", "!set …":
        staff are told where it works), or what looks like a mistyped command ("!caes")."""
        body = content.get("body")
        relates = content.get("m.relates_to")
        new = content.get("m.new_content")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            body = new.get("body") if isinstance(new, dict) else None
            if isinstance(body, str) and self.is_command(CONSULT, body):
                return "edited_command", {"command": body.strip().split()[0][:40]}
        if not isinstance(body, str) or not body.strip().startswith("!"):
            return None
        rest = body.strip()[1:]
        word = rest.split(maxsplit=1)[0].lower() if rest.strip() else ""
        elsewhere = self.registry.get(word)
        if elsewhere is not None and CONSULT not in elsewhere.rooms:
            where = [self.bridge.t(f"command_room_{kind}") for kind in elsewhere.rooms]
            return "wrong_room_command", {
                "command": f"!{word}",
                "where": self.bridge.t("command_rooms", rooms=where),
            }
        known = [n for n, c in self.registry.commands.items() if CONSULT in c.rooms and n != "#"]
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
        if close and word not in known:
            return "near_command", {"command": f"!{close[0]}"}
        return None

    def is_command(self, kind: str, body: str) -> bool:
        """Anything starting with ! is a command, except in a consult room, where only a command
        allowed there is: "!!! Let op" or "!Take care" there is a message for the visitor.
        In a consult room "#" and "#name" are the canned-answer command too."""
        text = body.strip()
        if kind == CONSULT and text.startswith("#") and "#" in self.registry.commands:
            return len(text) == 1 or not text[1].isspace()  # "#" or "#name": canned answers
        if not text.startswith("!"):
            return False
        if kind != CONSULT:
            return True
        cmd = self.registry.get(split(text)[0])
        return cmd is not None and CONSULT in cmd.rooms

    async def run(self, kind: str, room_id: str, sender: str, event_id: str, body: str) -> None:
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
        cmd = self.registry.get(name)
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
