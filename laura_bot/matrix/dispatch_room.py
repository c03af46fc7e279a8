"""What happens in a dispatch room: staff answer a request with a reaction ("Ik!" / "Ik kan nu
niet"), or withdraw one. The decision is Dispatch.answer's; this only reads the event and posts
the answer's consequences for the person who reacted."""

from __future__ import annotations

import logging
from typing import Any

from ..conversation import StaffActions
from ..db import Store
from ..db.conversations import Conversation
from ..dispatch.answers import Dispatch
from ..dispatch.logic import Decision, parse_answer
from ..dispatch.routing import Routing
from ..status import Status
from .bridge import MatrixBridge
from .shapes import obj, text

log = logging.getLogger(__name__)


class DispatchRoom:
    def __init__(
        self,
        store: Store,
        bridge: MatrixBridge,
        dispatch: Dispatch,
        routing: Routing,
        staff_actions: StaffActions,
    ) -> None:
        self.staff_actions = staff_actions
        self.store = store
        self.bridge = bridge
        self.dispatch = dispatch
        self.routing = routing

    async def reaction(
        self, room_id: str, sender: str, event_id: str, content: dict[str, Any]
    ) -> None:
        bad = "malformed_reaction"
        relates = obj(content.get("m.relates_to"), "m.relates_to", bad)
        if relates.get("rel_type") != "m.annotation":
            return
        target = text(relates.get("event_id"), "m.relates_to.event_id", bad)
        key = text(relates.get("key"), "m.relates_to.key", bad)
        answer = parse_answer(key)
        if answer is None:
            return
        conv = await self._request(room_id, target)
        if conv is None:
            return
        members = await self.bridge.people.members_cached(room_id)  # a join or leave forgets it
        user_name = await self.bridge.people.staff_name(room_id, sender)
        outcome = await self.dispatch.answer(conv, sender, user_name, answer, event_id, members)
        t = self.bridge.t
        reply = {
            Decision.ALREADY_TAKEN: lambda: t(
                "already_taken", user=user_name, name=outcome.taker_name
            ),
            Decision.TOO_LATE: lambda: t("too_late", user=user_name),
            Decision.NOT_MEMBER: lambda: t("not_member", user=user_name),
        }.get(outcome.decision)
        if reply:
            await self.bridge.notice(
                room_id, reply(), txn_id=f"laura.re.{event_id}", reply_to=conv.dispatch_event_id
            )

    async def message(
        self, room_id: str, sender: str, event_id: str, content: dict[str, Any]
    ) -> None:
        """A reply in the thread of a request reaches the waiting visitor (two-way waiting
        room); anything else said in the room is staff talking among themselves."""
        relates = content.get("m.relates_to")
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.thread":
            return
        bad = "malformed_message"
        root = text(relates.get("event_id"), "m.relates_to.event_id", bad)
        body = text(content.get("body"), "body", bad).strip()
        conv = await self._request(room_id, root) if body else None
        if conv is None:
            return
        if conv.status not in (Status.WAITING, Status.CONTACT) or conv.taker:
            text_id = "thread_taken" if conv.status == Status.CONNECTED else "not_delivered"
            await self.bridge.notice(
                room_id, self.bridge.t(text_id), txn_id=f"laura.th.{event_id}", reply_to=event_id
            )
            return
        name = await self.bridge.people.staff_name(room_id, sender)
        await self.staff_actions.staff_message(
            conv, event_id, name, body, mirror=True, notification=True
        )

    async def _request(self, room_id: str, event_id: str) -> Conversation | None:
        """The conversation whose request (dispatch message) event_id is, or None."""
        conv = await self.store.conversations.get_by_dispatch_event(event_id)
        if conv is None:  # staff may be quicker than Laura's note of her own send
            conv = await self.bridge.dispatch_view.request_sent_as(room_id, event_id)
        return conv

    async def membership(self, room_id: str) -> None:
        """Someone joined or left the department: who can be asked changes at once."""
        self.bridge.people.forget_members(room_id)
        dept = await self.store.departments.get_by_room(room_id)
        if dept is not None:
            self.routing.kick(dept.id)

    async def redaction(self, sender: str, redacts: str) -> None:
        """Un-clicking a reaction: "Ik kan nu niet" withdrawn means Laura waits for them again."""
        withdrawn = await self.dispatch.withdraw(redacts)
        if withdrawn:
            log.info("%s withdrew %s on %s", sender, withdrawn[2], withdrawn[0])
