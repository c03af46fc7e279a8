"""Turns stored Matrix events (the inbox) into domain calls, one at a time, in arrival order."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..commands import CONSULT, CONTROL, DISPATCH, OTHER, Context, split
from ..db.conversations import Conversation
from ..dispatch.logic import Answer, Decision, decide, parse_answer

if TYPE_CHECKING:
    from ..app import Laura

log = logging.getLogger("laura.router")
MAX_ATTEMPTS = 5


class Router:
    def __init__(self, laura: Laura) -> None:
        self.laura = laura
        self._failures: Counter[str] = Counter()

    async def process_inbox(self, _key: str = "") -> None:
        store = self.laura.store
        while batch := await store.inbox.pending():
            for raw in batch:
                event_id = raw["event_id"]
                try:
                    await self.handle(raw)
                except Exception:
                    self._failures[event_id] += 1
                    if self._failures[event_id] < MAX_ATTEMPTS:
                        raise  # the runner retries with backoff; order is kept
                    log.exception(
                        "Giving up on event %s after %d attempts", event_id, MAX_ATTEMPTS
                    )
                await store.inbox.mark_handled(event_id)
                self._failures.pop(event_id, None)

    async def handle(self, raw: dict[str, Any]) -> None:
        """Works on the raw event: a malformed one is skipped, never retried."""
        sender, room_id, event_id = raw.get("sender"), raw.get("room_id"), raw["event_id"]
        content = raw.get("content")
        if (
            not isinstance(sender, str)
            or not isinstance(room_id, str)
            or not isinstance(content, dict)
            or self.laura.config.is_own_user(sender)
        ):
            return
        kind, conv = await self._room_kind(room_id)
        etype = raw.get("type")
        if etype == "m.room.message":
            body = content.get("body")
            if isinstance(body, str) and self._is_command(kind, body):
                await self._command(kind, room_id, sender, event_id, body.strip())
            elif conv is not None:
                await self._staff_message(conv, room_id, sender, event_id, content)
        elif etype == "m.reaction" and kind == DISPATCH:
            await self._reaction(room_id, sender, event_id, content)
        elif etype == "m.room.redaction":
            redacts = raw.get("redacts") or content.get("redacts")
            if isinstance(redacts, str):
                withdrawn = await self.laura.store.conversations.withdraw_answer(redacts)
                if withdrawn:
                    log.info("%s withdrew %s on %s", sender, withdrawn[2], withdrawn[0])
        elif etype == "m.room.member" and conv is not None:
            user = raw.get("state_key") or ""
            if not self.laura.config.is_own_user(user):
                membership = content.get("membership", "")
                name = content.get("displayname") or user.split(":")[0].lstrip("@")
                await self.laura.conversations.staff_membership(conv, user, str(name), membership)

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
        name, args = split(body)
        cmd = laura.commands.commands.get(name)
        if cmd is None or kind not in cmd.rooms:
            reply = laura.bridge.t("unknown_command", name=f"!{name}")
        elif cmd.admin and sender not in laura.config["laura.admins"]:
            log.info("Refused !%s from non-admin %s", name, sender)
            reply = laura.bridge.t("refused")
        else:
            log.info("Command !%s from %s in %s", name, sender, kind)
            ctx = Context(laura, room_id, kind, sender, event_id, args)
            reply = await cmd.handler(ctx)
        await laura.bridge.notice(
            room_id, reply, txn_id=f"laura.reply.{event_id}", reply_to=event_id
        )

    async def _staff_message(
        self,
        conv: Conversation,
        room_id: str,
        sender: str,
        event_id: str,
        content: dict[str, Any],
    ) -> None:
        laura = self.laura
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            content = content.get("m.new_content") or {}
        body = content.get("body")
        if not isinstance(body, str) or not body:
            return
        msgtype = content.get("msgtype")
        attachment = msgtype in ("m.image", "m.file", "m.video", "m.audio")
        name = await laura.store.conversations.staff_name(
            conv.id, sender
        ) or await laura.bridge.display_name(room_id, sender)
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
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") != "m.annotation":
            return
        conv = await laura.store.conversations.get_by_dispatch_event(str(relates.get("event_id")))
        if conv is None:
            return
        answer = parse_answer(str(relates.get("key", "")))
        if answer is None:
            return
        members = await laura.bridge.members(room_id)
        decision = decide(answer, conv.status, is_member=sender in members)
        store = laura.store.conversations
        user_name = await laura.bridge.display_name(room_id, sender)
        if decision is Decision.CLAIM:
            await store.add_answer(conv.id, sender, Answer.TAKE.value, event_id)
            if await laura.conversations.claim(conv, sender, user_name):
                return
            reloaded = await store.get_by_id(conv.id)
            assert reloaded is not None
            conv = reloaded
            decision = decide(answer, conv.status, is_member=True)
        if decision is Decision.DECLINE:
            await store.add_answer(conv.id, sender, Answer.DECLINE.value, event_id)
            await laura.conversations.decline(conv, members)
            return
        text = None
        if decision is Decision.ALREADY_TAKEN:
            text = laura.bridge.t(
                "already_taken", user=user_name, name=conv.taker_name or conv.taker
            )
        elif decision is Decision.TOO_LATE:
            text = laura.bridge.t("too_late", user=user_name)
        elif decision is Decision.NOT_MEMBER:
            text = laura.bridge.t("not_member", user=user_name)
        if text:
            await laura.bridge.notice(
                room_id, text, txn_id=f"laura.re.{event_id}", reply_to=conv.dispatch_event_id
            )
